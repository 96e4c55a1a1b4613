"""OpenTelemetry tracing: one trace from an API request through the workflow to the activities
and their calls to PostgreSQL, SMTP, CalDAV and the clinic.

Spans are always made, so that every log line carries a trace id, but exported only when the
standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: OTLP
over HTTP. Without it there is no exporter and no thread trying to reach one.
`OTEL_SDK_DISABLED=true` turns tracing off altogether.

Every span passes through `PhiSafeSpans` on its way out, which drops what instrumentation
libraries record that a person could have written or that identifies them: query strings,
client addresses, user agents, SQL parameters, exception messages.
"""

import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes, AttributeValue
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

# Attributes that name or locate a person, or hold what they sent: never exported.
DROPPED_ATTRIBUTES = frozenset(
    {
        "client.address",
        "client.port",
        "net.peer.ip",
        "net.sock.peer.addr",
        "net.sock.peer.port",
        "http.client_ip",
        "user_agent.original",
        "http.user_agent",
        "url.query",
        "db.statement.parameters",
        "exception.message",
        "exception.stacktrace",
    }
)
# Attributes holding a URL or a request target: exported without the query string, where a
# patient link carries its token.
URL_ATTRIBUTES = frozenset({"http.url", "url.full", "http.target"})
DROPPED_PREFIXES = ("http.request.header.", "http.response.header.", "enduser.")


def otlp_configured() -> bool:
    return any(os.environ.get(name) for name in OTLP_ENDPOINTS)


def configure_tracing(
    service: str, *, export_to: SpanExporter | None = None
) -> TracerProvider | None:
    """Make this process's tracer provider and instrument asyncpg, httpx and requests.

    `export_to` sends each span there as it ends (tests hand in an in-memory exporter);
    otherwise spans go to OTLP when its endpoint is set, and nowhere when it is not. Call once
    per process, from its entry point.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    # OTEL_SERVICE_NAME, when set, names the service rather than the process's role.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    if export_to is not None:
        provider.add_span_processor(PhiSafeSpans(SimpleSpanProcessor(export_to)))
    elif otlp_configured():
        # Imported here: the exporter pulls in protobuf and an HTTP client no other path needs.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(PhiSafeSpans(BatchSpanProcessor(OTLPSpanExporter())))
    trace.set_tracer_provider(provider)
    # Statement text only: asyncpg's instrumentation records the parameters, which hold names
    # and addresses, only when asked to.
    AsyncPGInstrumentor(capture_parameters=False).instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    # The `caldav` client speaks HTTP through requests.
    RequestsInstrumentor().instrument(tracer_provider=provider)
    return provider


def stop_tracing(provider: TracerProvider | None) -> None:
    """Flush what is left to export and undo the libraries' instrumentation."""
    if provider is None:
        return
    provider.shutdown()
    for instrumentor in (AsyncPGInstrumentor(), HTTPXClientInstrumentor(), RequestsInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def temporal_interceptors() -> list[Interceptor]:
    """The Temporal client's interceptors: the trace context travels in the headers of
    workflow starts, updates and activities. On a worker's client they trace the workflows
    and activities too. The interceptor rather than the SDK's OpenTelemetryPlugin: a journey
    runs for a year, and the plugin shows a workflow's spans only once it completes."""
    return [TracingInterceptor()]


def instrument_app(app: FastAPI) -> None:
    """A server span per request, the parent of everything the request does. Probes are left
    out, and so are the per-message receive and send spans, which say nothing more."""
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"]
    )


def current_trace_id() -> str | None:
    """The current trace's id as 32 hex digits, for a log line; None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class PhiSafeSpans(SpanProcessor):
    """Hands each ended span to `inner` without the attributes that could carry PHI."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._inner.on_end(scrubbed(span))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    # A status description reads "Type: message"; the message may quote what was sent.
    description = (status.description or "").split(":", 1)[0] or None
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_safe(span.attributes),
        events=[Event(e.name, _safe(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=Status(status.status_code, description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _safe(attributes: Attributes) -> dict[str, AttributeValue]:
    safe: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key in DROPPED_ATTRIBUTES or key.startswith(DROPPED_PREFIXES):
            continue
        if key in URL_ATTRIBUTES and isinstance(value, str):
            value = value.split("?", 1)[0]
        safe[key] = value
    return safe
