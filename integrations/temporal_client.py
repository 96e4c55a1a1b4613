"""One way to connect to Temporal, shared by the worker, the API and the CLI."""

import asyncio
import time
from collections.abc import Sequence

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from domain.names import SEARCH_ATTRIBUTES
from integrations.data_converter import build_data_converter
from integrations.temporal_tls import TemporalTls, temporal_tls
from settings import Settings


async def connect_temporal(
    settings: Settings,
    *,
    address: str | None = None,
    namespace: str | None = None,
    lazy: bool = False,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """Connect to the settings' Temporal (or `address`, `namespace`) with the project's data
    converter, so that no client can read or write payloads without the codec, and with the
    settings' TLS and API key; `lazy` defers the connection to first use.

    The TLS files are read first: a setting that cannot be used raises `TemporalTlsError`
    naming it before anything connects.

    `runtime` carries the SDK's telemetry (the worker's serves its metrics), and
    `interceptors` trace what the client sends; a worker on this client uses both.
    """
    secure = temporal_tls(settings)
    return await Client.connect(
        address or settings.temporal_target,
        namespace=namespace or settings.temporal_namespace,
        data_converter=build_data_converter(settings),
        tls=tls_config(secure),
        api_key=secure.api_key,
        lazy=lazy,
        runtime=runtime,
        interceptors=interceptors,
    )


async def ensure_namespace(client: Client, *, retention_days: int, within: float = 60.0) -> bool:
    """Register the client's namespace on a server that lacks it (a self-hosted cluster's
    first start; Temporal Cloud's namespaces are made in Cloud, and exist), and wait until
    the server serves it. True when it was registered now."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
        return False
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=client.namespace,
                workflow_execution_retention_period=Duration(seconds=retention_days * 86400),
            )
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    # Each frontend learns of a new namespace from its cache, refreshed every few seconds.
    deadline = time.monotonic() + within
    while True:
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=client.namespace)
            )
            return True
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


def tls_config(secure: TemporalTls) -> TLSConfig | bool:
    """The SDK's TLS option: False for plain gRPC, else the CA, client certificate and
    server name the settings give (the SDK falls back to the system's CAs without a CA)."""
    if not secure.enabled:
        return False
    return TLSConfig(
        server_root_ca_cert=secure.server_ca,
        domain=secure.server_name,
        client_cert=secure.client_cert,
        client_private_key=secure.client_key,
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register the journey's search attributes on a server that lacks them."""
    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={n: kinds[k] for n, k in SEARCH_ATTRIBUTES.items()},
            )
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise


async def task_queue_pollers(client: Client, task_queue: str) -> list[str]:
    """Identities (`pid@host` unless a worker names itself) of the workers the server has seen
    polling a task queue for workflow tasks; the server forgets a poller minutes after its
    last poll."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=task_queue))
    )
    return [poller.identity for poller in answer.pollers]
