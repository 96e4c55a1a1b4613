"""One way to connect to Temporal, shared by the worker, the API and the CLI."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def connect_temporal(
    address: str, namespace: str = "default", *, lazy: bool = False
) -> Client:
    """Connect with the pydantic data converter; `lazy` defers the connection to first use."""
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, lazy=lazy
    )
