"""Worker Versioning: which version of the worker deployment this installation is, and how
Temporal routes workflow tasks between the versions (docs/changing-workflow-code.md).

A build's worker polls as the version `<deployment>.<build id>`. Temporal sends new journeys,
and the next task of every auto-upgrading one, to the deployment's current version; a pinned
run (a follow-up year, an erasure, a retention sweep) stays on the version it started on until
it closes or continues as new. The functions here read and set that routing through the
workflow service, for the worker at start-up, `journeys dev` and `journeys deployment`.
"""

import asyncio
import functools
import hashlib
import importlib.metadata
import importlib.util
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from temporalio.api.deployment.v1 import (
    WorkerDeploymentVersion as WorkerDeploymentVersionProto,
)
from temporalio.api.enums.v1 import (
    RoutingConfigUpdateState,
    TaskQueueType,
    WorkerDeploymentVersionStatus,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode

from settings import Settings

PACKAGE = "patient-journeys"
# What a pinned run executes: the workflow code and the models it decides with. A change to
# either changes the build id; a change to activities, the API or the pages alone does not,
# so within one package version such a build's workers join the version already running.
WORKFLOW_PACKAGES = ("workflows", "domain")
BUILD_ID_DIGITS = 12

Promote = Literal["first", "always", "never"]

_STATUS = {
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT: "current",
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING: "ramping",
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING: "draining",
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED: "drained",
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE: "inactive",
    WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED: "created",
}
# The server refuses to route to a version for these reasons: no worker of it has polled, the
# routing changed since it was read (a conflict token), or the name is unknown.
_REFUSALS = (
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.INVALID_ARGUMENT,
    RPCStatusCode.ABORTED,
)


def package_roots(packages: Iterable[str]) -> list[tuple[str, Path]]:
    roots = []
    for package in packages:
        # Found without importing it: the workflow code stays out of the caller's process.
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {package} is not installed")
        roots.append((package, Path(next(iter(spec.submodule_search_locations)))))
    return roots


def workflow_code_digest(roots: Iterable[tuple[str, Path]]) -> str:
    """A digest of every Python source file under `roots`, by path and content, in an order
    that does not depend on the file system."""
    digest = hashlib.sha256()
    for name, root in sorted(roots):
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:BUILD_ID_DIGITS]


@functools.cache
def installed_build_id() -> str:
    """The build id of the installed package: its version, for people, and a digest of its
    workflow code as installed, so that two builds with different workflow code never share
    a version even when nobody changed the version number (an editable install, a rebuilt
    image). The SDK's own default hashes every module loaded in the process, which differs
    between the worker and the `journeys` command that promotes it."""
    version = importlib.metadata.version(PACKAGE)
    return f"{version}-{workflow_code_digest(package_roots(WORKFLOW_PACKAGES))}"


def build_id(settings: Settings) -> str:
    return settings.worker_build_id or installed_build_id()


def worker_version(settings: Settings) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(
        deployment_name=settings.worker_deployment_name, build_id=build_id(settings)
    )


@dataclass(frozen=True)
class VersionState:
    """One version of the deployment as the server sees it."""

    build_id: str
    # current, ramping, draining (not routed to, pinned runs still open), drained (none
    # open), inactive (polled, never routed to) or created (routed to before any poll).
    status: str
    created: datetime | None
    drainage_checked: datetime | None
    pollers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeploymentState:
    name: str
    current: str | None
    ramping: str | None
    ramp_percentage: float
    versions: tuple[VersionState, ...]
    conflict_token: bytes = field(repr=False, default=b"")
    # Workers of this task queue polling without a version (builds from before versioning).
    unversioned_pollers: tuple[str, ...] = ()
    # False while the server is still handing a routing change to the task queues.
    routing_settled: bool = True

    def version(self, build: str) -> VersionState | None:
        return next((v for v in self.versions if v.build_id == build), None)


def _build_of(deployment_version: WorkerDeploymentVersionProto, canonical: str) -> str | None:
    """The build id of a version the server names; servers before 1.29 fill only the
    deprecated `<deployment>.<build id>` string (`__unversioned__` for none)."""
    if deployment_version.build_id:
        return deployment_version.build_id
    deployment, _, build = canonical.partition(".")
    return build if deployment and build else None


async def pollers_by_build(
    client: Client, task_queue: str, deployment: str
) -> tuple[dict[str, list[str]], list[str]]:
    """Who polls `task_queue` for workflow or activity tasks: identities by build id of
    `deployment`, and the unversioned ones. The server forgets a poller minutes after its
    last poll."""
    by_build: dict[str, list[str]] = {}
    unversioned: list[str] = []
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=kind,
            )
        )
        for poller in answer.pollers:
            options = poller.deployment_options
            if not options.build_id:
                seen = unversioned
            elif options.deployment_name == deployment:
                seen = by_build.setdefault(options.build_id, [])
            else:
                continue
            if poller.identity not in seen:
                seen.append(poller.identity)
    return by_build, unversioned


async def describe_deployment(
    client: Client, name: str, *, task_queue: str | None = None
) -> DeploymentState | None:
    """The deployment's routing and versions (with their pollers on `task_queue` if given);
    None while no worker of it has ever polled."""
    try:
        answer = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    pollers: dict[str, list[str]] = {}
    unversioned: list[str] = []
    if task_queue:
        pollers, unversioned = await pollers_by_build(client, task_queue, name)
    info = answer.worker_deployment_info
    routing = info.routing_config
    versions = sorted(
        (
            VersionState(
                build_id=_build_of(summary.deployment_version, summary.version) or "",
                status=_STATUS.get(summary.status, "unknown"),
                created=summary.create_time.ToDatetime(tzinfo=UTC)
                if summary.HasField("create_time")
                else None,
                drainage_checked=summary.drainage_info.last_checked_time.ToDatetime(tzinfo=UTC)
                if summary.drainage_info.HasField("last_checked_time")
                else None,
                pollers=tuple(
                    pollers.get(_build_of(summary.deployment_version, summary.version) or "", ())
                ),
            )
            for summary in info.version_summaries
        ),
        key=lambda v: (v.created is None, v.created),
        reverse=True,
    )
    return DeploymentState(
        name=name,
        current=_build_of(routing.current_deployment_version, routing.current_version),
        ramping=_build_of(routing.ramping_deployment_version, routing.ramping_version),
        ramp_percentage=routing.ramping_version_percentage,
        versions=tuple(versions),
        conflict_token=answer.conflict_token,
        unversioned_pollers=tuple(unversioned),
        routing_settled=info.routing_config_update_state
        != RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS,
    )


async def is_current(client: Client, version: WorkerDeploymentVersion) -> bool:
    """Whether `version` takes new tasks now: current, and the change handed to every task
    queue (or the server has no versions); false too while the server, which limits the
    calls per deployment, asks to be asked later."""
    try:
        state = await describe_deployment(client, version.deployment_name)
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            return True
        if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
            return False
        raise
    return state is not None and state.current == version.build_id and state.routing_settled


async def wait_until_current(
    client: Client, version: WorkerDeploymentVersion, *, within: float, every: float = 0.5
) -> bool:
    """Look until `version` takes new tasks (`is_current`), for `within` seconds at most."""
    for _ in range(max(1, round(within / every))):
        if await is_current(client, version):
            return True
        await asyncio.sleep(every)
    return False


async def wake_pinned(
    client: Client, version: WorkerDeploymentVersion, *, workflow_type: str, signal: str
) -> int:
    """Signal every open run of `workflow_type` pinned to `version`; returns how many.

    A pinned follow-up year learns of a newer current build only at its next task, which
    can be months away; the signal gives it one now. Visibility lags the server by a moment,
    so a run pinned seconds ago may be missed: run it again to be sure.
    """
    query = (
        f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running' AND "
        f"TemporalWorkerDeploymentVersion = '{version.deployment_name}:{version.build_id}'"
    )
    woken = 0
    async for run in client.list_workflows(query):
        try:
            # The workflow's latest run: one that moved meanwhile ignores the signal.
            await client.get_workflow_handle(run.id).signal(signal)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        woken += 1
    return woken


class PromotionRefused(Exception):
    """The server would not make the version current; the message says why, in its words."""


async def promote(
    client: Client,
    version: WorkerDeploymentVersion,
    *,
    identity: str,
    conflict_token: bytes = b"",
    allow_no_pollers: bool = False,
) -> str | None:
    """Make `version` the deployment's current version; returns the build id it replaced.

    The server refuses a version none of whose workers has polled lately, unless
    `allow_no_pollers`: tasks would wait for workers that may never come. With a
    `conflict_token` from `describe_deployment`, it refuses if the routing changed since.
    """
    try:
        answer = await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=version.deployment_name,
                build_id=version.build_id,
                # The deprecated form too, which servers before 1.29 read instead.
                version=version.to_canonical_string(),
                conflict_token=conflict_token,
                identity=identity,
                allow_no_pollers=allow_no_pollers,
            )
        )
    except RPCError as err:
        if err.status in _REFUSALS:
            raise PromotionRefused(err.message) from None
        raise
    return answer.previous_deployment_version.build_id or None


@dataclass(frozen=True)
class Routing:
    """Whether a starting worker's version takes new tasks, and a sentence for its log."""

    current: bool
    detail: str


async def settle_routing(
    client: Client,
    version: WorkerDeploymentVersion,
    policy: Promote,
    *,
    identity: str,
    within: float = 60.0,
    every: float = 1.0,
) -> Routing:
    """Once this build's worker polls: make its version current if `policy` says so.

    "first" promotes only a deployment that has no current version (a fresh installation,
    or the first versioned build after unversioned ones: their journeys then move to it at
    their next task); "always" promotes at every start. The server knows the version only
    after its first poll, so this looks until it does, for `within` seconds at most.
    """
    deadline = time.monotonic() + within
    name = f"{version.deployment_name}.{version.build_id}"
    why = "no worker of it has been seen polling"
    while True:
        try:
            state = await describe_deployment(client, version.deployment_name)
        except RPCError as err:
            if err.status == RPCStatusCode.UNIMPLEMENTED:
                # A server without Worker Deployments (the time-skipping test server) sends
                # every task to every worker of the task queue.
                return Routing(True, f"{name}: the server routes without versions")
            if err.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                raise
            # The server limits the calls per deployment; every replica starting at once
            # asks too.
            state, why = None, err.message
        if state is not None and state.version(version.build_id) is not None:
            if state.current == version.build_id:
                return Routing(True, f"{name} is the current version")
            wanted = policy == "always" or (policy == "first" and state.current is None)
            if not wanted:
                return Routing(
                    False,
                    f"{name} is not the current version ({state.current or 'none'}): it takes "
                    f"new tasks once promoted (`journeys deployment promote {version.build_id}`)",
                )
            try:
                before = await promote(
                    client, version, identity=identity, conflict_token=state.conflict_token
                )
                return Routing(True, f"{name} made the current version (was {before or 'none'})")
            except PromotionRefused as refused:
                # Another worker changed the routing meanwhile, or the server has not yet
                # counted this worker's poll: look again.
                why = str(refused)
        if time.monotonic() > deadline:
            return Routing(False, f"{name} could not be made current within {within:.0f} s: {why}")
        await asyncio.sleep(every)
