"""A worker in its own process, so its memory can be measured alone: the project's or the
baseline's, with the same Worker options.

    python -m bench.worker_proc journey|baseline --options '{"max_cached_workflows": 2000}'

Settings come from `JOURNEYS_*` like `journeys worker`. Prints READY once polling; stops on
SIGINT or SIGTERM.
"""

import argparse
import asyncio
import json
import logging
import signal
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import worker as project_worker
from bench.baseline import BASELINE_WORKFLOWS, noop
from db.pool import create_pool
from integrations.temporal_client import connect_temporal
from settings import Settings, get_settings

# Worker options of the bench that are not Worker keyword arguments.
SANDBOX_OPTION = "sandbox"
PROJECT_RUNNER = project_worker.workflow_runner


def _runner(sandbox: str) -> WorkflowRunner:
    """The workflow runner of a variant:

    - "passthrough": the project's runner (`worker.workflow_runner()`);
    - "plain": the SDK's default sandbox, without the project's pass-through list;
    - "workflows": the project's runner with the `workflows` package passed through too, so
      the journey's modules are imported once rather than once per run (the sandbox then no
      longer checks the code in them);
    - "none": no sandbox at all.
    """
    if sandbox == "plain":
        return SandboxedWorkflowRunner()
    if sandbox == "workflows":
        return SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                *project_worker.SANDBOX_PASSTHROUGH, "workflows", "bench.baseline"
            )
        )
    if sandbox == "none":
        return UnsandboxedWorkflowRunner()
    return PROJECT_RUNNER()


def baseline_worker(
    client: Client, task_queue: str, *, sandbox: str = "passthrough", **options: Any
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=BASELINE_WORKFLOWS,
        activities=[noop],
        workflow_runner=_runner(sandbox),
        **options,
    )


async def serve(kind: str, settings: Settings, options: dict[str, Any]) -> None:
    sandbox = str(options.pop(SANDBOX_OPTION, "passthrough"))
    client = await connect_temporal(settings.temporal_target, settings.temporal_namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pool = None
    if kind == "journey":
        pool = await create_pool(
            settings.require_database_url(),
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
        # build_worker always takes the project's runner; the "plain" variant swaps it here,
        # in this process only, to measure what the pass-through saves.
        if sandbox != "passthrough":
            project_worker.workflow_runner = lambda: _runner(sandbox)  # type: ignore[assignment,return-value]
        worker = project_worker.build_worker(
            client,
            settings=settings,
            pool=pool,
            sender=project_worker.smtp_sender(settings),
            calendar=project_worker.calendar_client(settings),
            clinic=project_worker.clinic_gateway(settings),
            **options,
        )
    else:
        worker = baseline_worker(client, settings.task_queue, sandbox=sandbox, **options)
    try:
        async with worker:
            print("READY", flush=True)
            await stop.wait()
    finally:
        if pool is not None:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["journey", "baseline"])
    parser.add_argument("--options", default="{}", help="Worker keyword arguments, as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(args.kind, get_settings(), json.loads(args.options)))


if __name__ == "__main__":
    main()
