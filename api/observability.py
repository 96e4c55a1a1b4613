"""What the API adds to every app for operators: request and step metrics, a server span per
request, and the request's journey on its log lines."""

from fastapi import FastAPI

from api.metrics import ApiMetrics
from observability.logs import RequestScope
from observability.tracing import instrument_app


def install_observability(app: FastAPI) -> None:
    """Metrics in `app.state.metrics` (served apart from the app: see `journeys api`)."""
    app.state.metrics = ApiMetrics()
    app.state.metrics.instrument(app)
    instrument_app(app)
    # Added last, so outermost: every line the request logs, the access line included, finds
    # its scope.
    app.add_middleware(RequestScope)
