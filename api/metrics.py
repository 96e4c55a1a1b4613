"""The API's metrics: its requests (prometheus-fastapi-instrumentator), the steps it sends to
journeys, and the journeys and incidents read from PostgreSQL at each scrape.

They are served by a small server of their own on `JOURNEYS_API_METRICS_ADDRESS`, apart from
the public port, which `journeys api` starts; tests start one on a free port.
"""

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from threading import Thread
from typing import Annotated
from wsgiref.simple_server import WSGIServer

import asyncpg
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.applications import Starlette

from db.operations import Figures, OperationsRepository
from domain.incidents import IncidentKind
from domain.metrics import (
    API_SUBSYSTEM,
    INCIDENTS_OPEN,
    INCIDENTS_OPEN_OLDEST,
    JOURNEYS_IN_STAGE,
    JOURNEYS_OVERDUE,
    JOURNEYS_OVERDUE_LONGEST,
    JOURNEYS_WAITING,
    NAMESPACE,
    RECORDS_READ,
    STEP_ANSWER_SECONDS,
    STEPS,
    StepAnswer,
)
from domain.stages import Stage, WaitingOn
from observability.addresses import split_address

log = logging.getLogger(__name__)

# A journey answers a step in well under a second once it has acted; the top buckets show
# a worker falling behind, up to the API's patience (JOURNEYS_STEP_ANSWER_SECONDS, at most 55).
ANSWER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# How long a scrape waits for PostgreSQL before it reports the figures as unread.
RECORDS_TIMEOUT = 5.0
# Probes would outnumber the requests people make, and say nothing about them.
UNMEASURED = ["/healthz", "/readyz"]


class StepMetrics:
    """Steps sent to journeys, by step and the journey's answer, and how long it took."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._sent = Counter(
            STEPS,
            "Steps sent to journeys, by step and answer",
            ["step", "answer"],
            registry=registry,
        )
        self._answer = Histogram(
            STEP_ANSWER_SECONDS,
            "Time from sending a step to the journey's answer, by step",
            ["step"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )

    def answered(self, step: str, answer: StepAnswer, seconds: float | None) -> None:
        """Count one step; `seconds` is None when the journey did not answer."""
        self._sent.labels(step=step, answer=answer.value).inc()
        if seconds is not None:
            self._answer.labels(step=step).observe(seconds)


class RecordsCollector(Collector):
    """Gauges read from PostgreSQL when Prometheus scrapes: journeys by stage, by whom they
    wait on and how many of those are overdue, open incidents by kind and their age.

    The metrics server calls `collect` on its own thread; the queries run on the API's event
    loop, with its pool, and the thread waits for them.
    """

    def __init__(self, pool: asyncpg.Pool, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop

    async def _read(self) -> Figures:
        async with self._pool.acquire(timeout=RECORDS_TIMEOUT) as conn:
            return await OperationsRepository(conn).figures()

    def describe(self) -> Iterator[Metric]:
        return iter(_families())

    def collect(self) -> Iterator[Metric]:
        read, *families = _families()
        try:
            figures = self._figures()
        except Exception as err:
            log.warning("journey figures not read from PostgreSQL: %s", type(err).__name__)
            read.add_metric([], 0)
            yield read
            return
        read.add_metric([], 1)
        yield read
        yield from _filled(families, figures)

    def _figures(self) -> Figures:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            # Waiting here would block the very loop the queries need.
            raise RuntimeError("collect() called on the API's event loop")
        future = asyncio.run_coroutine_threadsafe(self._read(), self._loop)
        try:
            return future.result(RECORDS_TIMEOUT * 2)
        except TimeoutError:
            # A loop too busy to run the queries: leave nothing running for a scrape gone.
            future.cancel()
            raise


def _families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily(RECORDS_READ, "1 when the journey figures were read at this scrape"),
        GaugeMetricFamily(JOURNEYS_IN_STAGE, "Journeys by stage", labels=["stage"]),
        GaugeMetricFamily(
            JOURNEYS_WAITING, "Open journeys by whom they wait on", labels=["waiting_on"]
        ),
        GaugeMetricFamily(
            JOURNEYS_OVERDUE, "Open journeys past their deadline", labels=["waiting_on"]
        ),
        GaugeMetricFamily(
            JOURNEYS_OVERDUE_LONGEST,
            "How far past its deadline the most overdue journey is",
            labels=["waiting_on"],
        ),
        GaugeMetricFamily(INCIDENTS_OPEN, "Open incidents by kind", labels=["kind"]),
        GaugeMetricFamily(
            INCIDENTS_OPEN_OLDEST, "Age of the oldest open incident of a kind", labels=["kind"]
        ),
    ]


def _filled(families: list[GaugeMetricFamily], figures: Figures) -> Iterator[Metric]:
    """Every known stage, waiting-on and kind, with 0 where there are none: a series that
    stays present reads better on a graph, and an alert on it resolves."""
    stage, waiting, overdue, longest, incidents, oldest = families
    for s in Stage:
        stage.add_metric([s.value], figures.by_stage.get(s.value, 0))
    for w in WaitingOn:
        figure = figures.by_waiting_on.get(w.value)
        waiting.add_metric([w.value], figure.journeys if figure else 0)
        overdue.add_metric([w.value], figure.overdue if figure else 0)
        longest.add_metric([w.value], figure.longest_overdue_seconds if figure else 0)
    for k in IncidentKind:
        open_ = figures.incidents.get(k.value)
        incidents.add_metric([k.value], open_.count if open_ else 0)
        oldest.add_metric([k.value], open_.oldest_seconds if open_ else 0)
    yield from families


class ApiMetrics:
    """One API app's metrics, in a registry of its own (tests build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.steps = StepMetrics(self.registry)
        self._records: RecordsCollector | None = None

    def instrument(self, app: Starlette) -> None:
        """Count and time the app's requests, by route template (never the path: it holds
        ids), method and status class."""
        Instrumentator(registry=self.registry, excluded_handlers=UNMEASURED).instrument(
            app, metric_namespace=NAMESPACE, metric_subsystem=API_SUBSYSTEM
        )

    def watch_records(self, pool: asyncpg.Pool) -> None:
        """From the lifespan, on the app's event loop: read the figures with this pool."""
        self._records = RecordsCollector(pool, asyncio.get_running_loop())
        self.registry.register(self._records)

    def stop_watching(self) -> None:
        if self._records is not None:
            self.registry.unregister(self._records)
            self._records = None


@dataclass
class MetricsServer:
    """The metrics' own HTTP server, on a thread, as prometheus_client starts it."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return self.server.server_port

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_metrics_server(address: str, registry: CollectorRegistry) -> MetricsServer:
    host, port = split_address(address)
    server, thread = start_http_server(port, host, registry=registry)
    return MetricsServer(server, thread)


async def get_step_metrics(request: Request) -> StepMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics.steps


StepMetricsDep = Annotated[StepMetrics, Depends(get_step_metrics)]
