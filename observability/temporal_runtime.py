"""The Temporal SDK's runtime for this project's processes: its own logs through Python's
logging (so they are JSON lines like the rest), and its metrics for Prometheus."""

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from domain.metrics import OUTSIDE_CALL_SECONDS

CORE_LOGGER = "temporalio.core"

# Bucket bounds in seconds. The SDK's defaults are spread for milliseconds; a workflow task
# waits tens of milliseconds when all is well and seconds when workers are short, which the
# alert on schedule-to-start latency must tell apart.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BUCKET_OVERRIDES = {
    "workflow_task_schedule_to_start_latency": LATENCY_BUCKETS,
    "activity_schedule_to_start_latency": LATENCY_BUCKETS,
    "workflow_task_execution_latency": LATENCY_BUCKETS,
    "activity_execution_latency": LATENCY_BUCKETS,
    OUTSIDE_CALL_SECONDS: (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
}


def prometheus_config(address: str) -> PrometheusConfig:
    """The SDK's Prometheus endpoint on `address` (`host:port`), in Prometheus's conventions:
    counters end in `_total`, durations are seconds."""
    return PrometheusConfig(
        bind_address=address,
        counters_total_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides=BUCKET_OVERRIDES,
    )


def temporal_runtime(*, metrics_address: str = "") -> Runtime:
    """A runtime forwarding the SDK core's warnings to the `temporalio.core` logger, and
    serving Prometheus metrics on `metrics_address` when one is given (it binds the port
    now, and fails here if the port is taken)."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
            ),
            metrics=prometheus_config(metrics_address) if metrics_address else None,
        )
    )
