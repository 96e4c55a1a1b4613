# The worker and the API, for the production-shaped stack of docker-compose.yml.
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY cli.py worker.py settings.py patient_links.py ./
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY domain ./domain
COPY integrations ./integrations
COPY db ./db
COPY devstack ./devstack
COPY audit ./audit
COPY observability ./observability
COPY i18n ./i18n
COPY privacy ./privacy
RUN pip install . && useradd --system --uid 10001 journeys

USER journeys
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["journeys", "api"]
