"""The codec server's body: Temporal `Payloads` as protobuf JSON, bytes as base64.

Validated here before anything is decoded, strictly: protobuf's own JSON parser skips
characters that are not base64, and a payload read differently from how it was sent would be
decoded (or refused) as something else.
"""

import base64
import binascii
from typing import Annotated, Any

from google.protobuf import json_format
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads


def _base64(text: str) -> str:
    decode_base64(text)
    return text


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not: what proto3 JSON allows for bytes."""
    plain = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(plain + "=" * (-len(plain) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None


Base64 = Annotated[
    str,
    # No length of its own: the API's body cap (413) bounds every payload.
    Field(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$", description="base64"),
    AfterValidator(_base64),
]


class WirePayload(BaseModel):
    """One payload: its metadata (`encoding`, `encryption-key-id`, ...) and data, base64."""

    # Fields that later versions of the protocol add are ignored rather than refused.
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Base64] = Field(default_factory=dict)
    data: Base64 = ""

    def to_proto(self) -> Payload:
        return Payload(
            metadata={k: decode_base64(v) for k, v in self.metadata.items()},
            data=decode_base64(self.data),
        )


class WirePayloads(BaseModel):
    """The body of `/codec/encode` and `/codec/decode`, and of their answers."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "payloads": [
                        {
                            "metadata": {
                                "encoding": "YmluYXJ5L2VuY3J5cHRlZA==",
                                "encryption-key-id": "azIwMjYxMTAx",
                            },
                            "data": "q83vEjRWeJA=",
                        }
                    ]
                }
            ]
        },
    )

    payloads: list[WirePayload]

    def to_protos(self) -> list[Payload]:
        return [p.to_proto() for p in self.payloads]


def payloads_json(payloads: list[Payload]) -> dict[str, Any]:
    """Protobuf JSON of `Payloads`, as the UI and the CLI parse it; `payloads` is there even
    when empty, where protobuf would leave it out, because the UI reads it by name."""
    converted = json_format.MessageToDict(Payloads(payloads=payloads))
    return {"payloads": converted.get("payloads", [])}
