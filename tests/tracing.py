"""Spans as an exporter receives them, for the tests that follow a trace.

A process has one tracer provider (OpenTelemetry refuses a second), so the first test that
asks for `spans` configures tracing for the rest of the session, exporting through the
project's PHI filter to a sink that keeps spans only while a test listens.
"""

from collections.abc import Iterator, Mapping, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue
from temporalio.client import Client

from integrations.temporal_client import connect_temporal
from observability.tracing import configure_tracing, stop_tracing, temporal_interceptors
from settings import Settings


class SpanSink(SpanExporter):
    """Keeps the spans it is given while `listening`."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.listening = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.listening:
            self.spans.extend(spans)
        return SpanExportResult.SUCCESS


@pytest.fixture(scope="session")
def span_sink() -> Iterator[SpanSink]:
    sink = SpanSink()
    provider = configure_tracing("journeys-tests", export_to=sink)
    assert provider is not None, "tracing is off in this environment (OTEL_SDK_DISABLED)"
    yield sink
    stop_tracing(provider)


@pytest.fixture
def spans(span_sink: SpanSink) -> Iterator[list[ReadableSpan]]:
    """The spans that end during the test."""
    span_sink.spans = []
    span_sink.listening = True
    yield span_sink.spans
    span_sink.listening = False


@pytest.fixture
async def traced_client(spans: list[ReadableSpan], settings: Settings) -> Client:
    """A client of the test's Temporal server that traces, as `journeys worker` builds its
    own, while `spans` listens."""
    return await connect_temporal(settings, interceptors=temporal_interceptors())


def attribute_sets(spans: Sequence[ReadableSpan]) -> list[Mapping[str, AttributeValue]]:
    """Every attribute set of `spans`: their own, their events', their resources'."""
    found: list[Mapping[str, AttributeValue]] = []
    for span in spans:
        found.append(span.attributes or {})
        found.extend(event.attributes or {} for event in span.events)
        found.append(span.resource.attributes)
    return found


def text_of(spans: Sequence[ReadableSpan]) -> str:
    """Every name, attribute and status description, as one text to search."""
    parts: list[str] = []
    for span in spans:
        parts.append(span.name)
        parts.append(span.status.description or "")
        parts.extend(event.name for event in span.events)
    for attributes in attribute_sets(spans):
        parts.extend(key + "=" + str(value) for key, value in attributes.items())
    return "\n".join(parts)
