"""`POST /codec/decode` and `POST /codec/encode`: Temporal's codec server protocol.

Both take and answer `{"payloads": [...]}` in protobuf JSON, for the namespace the
`X-Namespace` header names (this server's only). Decoding is for staff whose role may read
coded decisions; others get the payloads back as they sent them, still encoded. A payload
this server cannot open (a key it does not hold, a ciphertext that fails authentication) is
also sent back as it came, and the answer says so: each such payload gains a
`journeys-codec-note` metadata entry, and the `Journeys-Payloads-Left-Encoded` header counts
them. In production an unencrypted payload is refused as the worker refuses it (no process
of this system wrote it, and the UI must not show it as if it were decoded): it comes back as
the codec's refused stand-in, without its content, noted and counted the same way. Every
decode and encode is written to the audit log: who, which namespace, how many payloads, under
which keys; never their content.
"""

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from temporalio.api.common.v1 import Payload

from api.authorization import may_read_payloads
from api.codec.identity import staff_identity
from api.codec.wire import WirePayloads, payloads_json
from api.problems import ProblemError, problems
from api.tokens import Principal
from domain.readers import PAYLOAD_READERS
from integrations.payload_codec import (
    PayloadDecodeError,
    PayloadEncryptionCodec,
    UnknownPayloadKey,
    is_encrypted,
    key_id_of,
    refused_payload,
)
from integrations.payload_keys import SETTING
from settings import Settings

log = logging.getLogger(__name__)

CODEC_PREFIX = "/codec"
NOTE = "journeys-codec-note"
LEFT_ENCODED = "Journeys-Payloads-Left-Encoded"


_REFUSALS = problems(
    {
        401: "No staff identity (bearer token)",
        403: "Another namespace, origin or a patient's link",
        413: "A body larger than the API takes",
        415: "Not application/json",
        422: "Not protobuf-JSON payloads, or no X-Namespace",
        503: "No payload key, or the audit log is unavailable",
    }
)


async def json_only(request: Request) -> None:
    """A JSON body only: a cross-site form can post text/plain with the browser's cookies and
    no preflight, but not JSON."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ProblemError(415, "Unsupported media type", "send application/json")


# Both routes take the same body and are refused alike.
router = APIRouter(
    prefix=CODEC_PREFIX,
    tags=["codec server"],
    responses=_REFUSALS,
    dependencies=[Depends(json_only)],
)

Namespace = Annotated[
    str,
    Header(
        alias="X-Namespace",
        max_length=255,
        description="the Temporal namespace of the payloads; the UI and the CLI send it",
    ),
]
StaffDep = Annotated[Principal, Depends(staff_identity)]


@dataclass
class CodecCall:
    """A decode or encode for this server's namespace: who asks, the payloads, and the detail
    of its audit row."""

    request: Request
    principal: Principal
    action: str
    payloads: list[Payload]
    detail: dict[str, Any]

    async def audit(self, status: int) -> None:
        await _audit(self.request, self.principal, self.action, self.detail | {"status": status})


def CodecCallDep(action: str) -> Any:
    """A dependency giving the route its `CodecCall`, audited as `action`; a request for
    another namespace is refused, and audited as refused."""

    async def codec_call(
        request: Request, principal: StaffDep, namespace: Namespace, body: WirePayloads
    ) -> CodecCall:
        settings: Settings = request.app.state.settings
        payloads = body.to_protos()
        detail: dict[str, Any] = {"namespace": namespace, "payloads": len(payloads)}
        call = CodecCall(request, principal, action, payloads, detail)
        if namespace != settings.temporal_namespace:
            await call.audit(403)
            raise ProblemError(
                403,
                "Forbidden",
                f"this codec server serves namespace {settings.temporal_namespace!r}",
            )
        return call

    return Depends(codec_call)


@router.post(
    "/decode",
    summary="Decode payloads for the Temporal UI and CLI (staff; encoded for other roles)",
    response_model=WirePayloads,
)
async def decode(call: Annotated[CodecCall, CodecCallDep("codec.decode")]) -> JSONResponse:
    principal, payloads = call.principal, call.payloads
    codec = _codec(call.request)
    answer: list[Payload] = []
    decrypted = left = refused = 0
    for payload in payloads:
        note = None
        if not is_encrypted(payload):
            if not codec.refuses_unencrypted:
                answer.append(payload)
                continue
            refused += 1
            payload = refused_payload()
            note = "refused: not encrypted, so not written by this system"
        elif not may_read_payloads(principal):
            note = f"withheld: the {principal.actor.role.value} role reads no payloads"
        else:
            try:
                answer.append(codec.decrypt(payload))
                decrypted += 1
            except UnknownPayloadKey as err:
                note = f"not decoded: key id {err.key_id!r} is unknown"
            except PayloadDecodeError as err:
                note = f"not decoded: failed authentication under key id {err.key_id!r}"
        if note is not None:
            left += 1
            answer.append(_noted(payload, note))
    keys = sorted({key_id_of(p) for p in payloads if is_encrypted(p)})
    call.detail |= {"decrypted": decrypted, "left_encoded": left, "key_ids": keys}
    if refused:
        call.detail["refused_unencrypted"] = refused
    # Nothing decoded leaves without its audit row.
    await call.audit(200)
    return JSONResponse(payloads_json(answer), headers={LEFT_ENCODED: str(left)})


@router.post(
    "/encode",
    summary="Encrypt payloads for the Temporal UI and CLI (staff who may read them)",
    response_model=WirePayloads,
)
async def encode(call: Annotated[CodecCall, CodecCallDep("codec.encode")]) -> JSONResponse:
    if not may_read_payloads(call.principal):
        # Encoding makes input a worker accepts as its own: a write, which these roles never
        # make through the UI.
        await call.audit(403)
        allowed = ", ".join(sorted(r.value for r in PAYLOAD_READERS))
        raise ProblemError(403, "Forbidden", f"encoding is for: {allowed}")
    codec = _codec(call.request)
    if codec.encrypting_key_id is None:
        raise ProblemError(503, "Service unavailable", f"{SETTING} is unset: no key to encrypt")
    answer = [codec.encrypt(payload) for payload in call.payloads]
    call.detail |= {"key_ids": [codec.encrypting_key_id]}
    await call.audit(200)
    return JSONResponse(payloads_json(answer))


def _codec(request: Request) -> PayloadEncryptionCodec:
    """The API's own codec: the one its Temporal client reads and writes journeys with."""
    codec = request.app.state.temporal.data_converter.payload_codec
    assert isinstance(codec, PayloadEncryptionCodec)
    return codec


def _noted(payload: Payload, note: str) -> Payload:
    noted = Payload()
    noted.CopyFrom(payload)
    noted.metadata[NOTE] = note.encode()
    return noted


async def _audit(
    request: Request, principal: Principal, action: str, detail: dict[str, Any]
) -> None:
    client = request.client
    try:
        await request.app.state.audit.append(
            actor_id=principal.actor.id,
            actor_role=principal.actor.role.value,
            action=action,
            source=client.host if client else None,
            detail=detail,
        )
    except Exception:
        log.exception("could not append %s to the audit log", action)
        raise ProblemError(
            503, "Service unavailable", "the audit log is unavailable; try again"
        ) from None
