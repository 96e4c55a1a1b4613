"""A worker in its own process, so its memory can be measured alone: the project's or the
baseline's, with the same Worker options.

    python -m bench.worker_proc journey|baseline --options '{"max_cached_workflows": 2000}'

Settings come from `JOURNEYS_*` like `journeys worker`. Prints READY once polling; stops on
SIGINT or SIGTERM.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.baseline import BASELINE_WORKFLOWS, noop
from db.pool import create_pool
from integrations.temporal_client import connect_temporal
from settings import Settings, get_settings
from worker import running_worker
from workflows.registry import WORKFLOW_PACKAGE, sandbox_restrictions

# Worker options of the bench that are not Worker keyword arguments.
SANDBOX_OPTION = "sandbox"


def _runner(sandbox: str, own: str) -> WorkflowRunner:
    """The workflow runner of a variant, for a worker whose workflow code is the package `own`
    (`workflows` for the journey's, `bench.baseline` for the baseline's):

    - "project": the project's runner (`workflows.registry.workflow_runner()`): `domain`,
      `activities`, pydantic and the workflow code imported once and shared by every run;
    - "per-run": the workflow code imported afresh inside the sandbox for every run, as the
      test suite runs it (`reimport_workflows=True`), so the sandbox checks it;
    - "plain": the SDK's default sandbox, without the project's pass-through list;
    - "none": no sandbox at all.
    """
    if sandbox == "plain":
        return SandboxedWorkflowRunner()
    if sandbox == "none":
        return UnsandboxedWorkflowRunner()
    if sandbox == "per-run":
        return SandboxedWorkflowRunner(restrictions=sandbox_restrictions(reimport_workflows=True))
    also = () if own == WORKFLOW_PACKAGE else (own,)
    return SandboxedWorkflowRunner(restrictions=sandbox_restrictions(also=also))


def baseline_worker(
    client: Client, task_queue: str, *, sandbox: str = "project", **options: Any
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=BASELINE_WORKFLOWS,
        activities=[noop],
        workflow_runner=_runner(sandbox, "bench.baseline"),
        **options,
    )


async def serve(kind: str, settings: Settings, options: dict[str, Any]) -> None:
    sandbox = str(options.pop(SANDBOX_OPTION, "project"))
    client = await connect_temporal(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as running:
        if kind == "journey":
            pool = await create_pool(
                settings.require_database_url(),
                min_size=settings.database_pool_min,
                max_size=settings.database_pool_max,
            )
            running.push_async_callback(pool.close)
            if sandbox != "project":
                options["workflow_runner"] = _runner(sandbox, WORKFLOW_PACKAGE)
            await running.enter_async_context(
                running_worker(client, settings=settings, pool=pool, **options)
            )
        else:
            await running.enter_async_context(
                baseline_worker(client, settings.task_queue, sandbox=sandbox, **options)
            )
        print("READY", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["journey", "baseline"])
    parser.add_argument("--options", default="{}", help="Worker keyword arguments, as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(args.kind, get_settings(), json.loads(args.options)))


if __name__ == "__main__":
    main()
