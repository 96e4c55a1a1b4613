# The worker and the API, for the production stack of docker-compose.yml.
#
# Two stages: `build` installs the dependencies pinned in requirements.lock (each file checked
# against its hash) and the project's wheel into a virtual environment; `app` copies only that
# environment. The image holds no source tree, no development stack (devstack/) and no tests:
# the COPY lines below name what the package is built from, and tests/test_production_stack.py
# builds its wheel from the same paths.
FROM python:3.11-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/journeys
COPY requirements.lock ./
RUN /opt/journeys/bin/pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY cli.py command_settings.py worker.py settings.py patient_links.py partner_links.py signed_links.py ./
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY domain ./domain
COPY integrations ./integrations
COPY db ./db
COPY audit ./audit
COPY observability ./observability
COPY i18n ./i18n
COPY privacy ./privacy
RUN /opt/journeys/bin/pip install --no-deps .

FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/journeys/bin:$PATH
COPY --from=build /opt/journeys /opt/journeys
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin journeys
# The processes write nothing to the image; state lives in PostgreSQL and Temporal.
WORKDIR /tmp
USER journeys
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["journeys", "api"]
