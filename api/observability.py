"""What the API adds to every app for operators: request and step metrics, and a server span
per request."""

from fastapi import FastAPI

from api.metrics import ApiMetrics
from observability.tracing import instrument_app


def install_observability(app: FastAPI) -> None:
    """Metrics in `app.state.metrics` (served apart from the app: see `journeys api`)."""
    app.state.metrics = ApiMetrics()
    app.state.metrics.instrument(app)
    instrument_app(app)
