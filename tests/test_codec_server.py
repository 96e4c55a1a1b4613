"""The codec server as the Temporal UI calls it: from its origin, with X-Namespace, for staff.

Over the real app with its lifespan (PostgreSQL for the audit log, the time-skipping server's
client and its converter), as the browser would: preflight first, then the POST.
"""

import base64
import json
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from api.codec.routes import LEFT_ENCODED, NOTE
from api.codec.wire import WirePayloads, payloads_json
from api.tokens import mint_staff_token
from domain.actors import Actor, Role
from domain.steps import RejectionReason, ReviewDecision, ReviewOutcome
from integrations.data_converter import build_data_converter
from integrations.payload_codec import ENCODING, KEY_ID_METADATA
from integrations.payload_keys import new_payload_key_entry
from patient_links import mint_patient_link
from settings import Settings

UI = "http://127.0.0.1:8233"
DECISION = ReviewDecision(
    actor=Actor(id="rev-1", role=Role.REVIEWER),
    outcome=ReviewOutcome.REJECT,
    reason=RejectionReason.CONTRAINDICATION,
)


def _token(settings: Settings, role: Role, subject: str | None = None) -> str:
    return mint_staff_token(settings, subject=subject or f"{role.value}-1", name="x", role=role)


def _headers(token: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Origin": UI, "X-Namespace": "default", **extra}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _stored(settings: Settings) -> list[Payload]:
    """What the history holds: an encrypted decision, and one payload recorded in clear."""
    [encrypted] = await build_data_converter(settings).encode([DECISION])
    plain = pydantic_data_converter.payload_converter.to_payload("journey-1")
    return [encrypted, plain]


def _payloads(answer: httpx.Response) -> list[Payload]:
    return WirePayloads.model_validate(answer.json()).to_protos()


async def _rows(pool: asyncpg.Pool, action: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT actor_id, actor_role, action, detail FROM audit_log WHERE action = $1 ORDER BY seq",
        action,
    )
    return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]


async def test_the_ui_origin_alone_passes_the_preflight(api: httpx.AsyncClient) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    for path in ("/codec/decode", "/codec/encode"):
        granted = await api.options(path, headers={"Origin": UI, **asked})
        assert granted.status_code == 204
        assert granted.headers["access-control-allow-origin"] == UI
        assert granted.headers["access-control-allow-credentials"] == "true"
        assert granted.headers["access-control-allow-methods"] == "POST"
        allowed = set(granted.headers["access-control-allow-headers"].split(", "))
        assert allowed == {"authorization", "content-type", "x-namespace"}

    for origin in ("https://elsewhere.example", "http://localhost:8233", "null"):
        refused = await api.options("/codec/decode", headers={"Origin": origin, **asked})
        assert refused.status_code == 403, origin
        assert not any(h.startswith("access-control-") for h in refused.headers), origin
    other_header = {**asked, "Access-Control-Request-Headers": "content-type,x-debug"}
    refused = await api.options("/codec/decode", headers={"Origin": UI, **other_header})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


async def test_a_coordinator_reads_decoded_payloads_and_the_decode_is_audited(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    stored = await _stored(settings)
    token = _token(settings, Role.COORDINATOR, "coord-7")
    answer = await api.post("/codec/decode", json=payloads_json(stored), headers=_headers(token))

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["access-control-allow-origin"] == UI
    assert LEFT_ENCODED in answer.headers["access-control-expose-headers"]
    assert answer.headers[LEFT_ENCODED] == "0"
    decision, plain = _payloads(answer)
    assert decision.metadata["encoding"] == b"json/plain"
    reader = pydantic_data_converter.payload_converter
    assert reader.from_payload(decision, ReviewDecision) == DECISION
    assert plain == stored[1], "a payload in clear comes back as it was"

    [row] = await _rows(pool, "codec.decode")
    assert (row["actor_id"], row["actor_role"]) == ("coord-7", "coordinator")
    assert row["detail"] == {
        "namespace": "default",
        "payloads": 2,
        "decrypted": 1,
        "left_encoded": 0,
        "key_ids": ["test-2026"],
        "status": 200,
    }


# The codec server cannot tell whose journey a payload is: those who reach only the journeys
# assigned to them get every payload encoded, as auditors and privacy officers do.
ENCODED_FOR = (
    Role.AUDITOR,
    Role.CASE_MANAGER,
    Role.REVIEWER,
    Role.SPECIALIST,
    Role.PRIVACY_OFFICER,
)


async def test_auditors_and_staff_who_reach_their_own_journeys_get_the_payloads_encoded(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    stored = await _stored(settings)
    for role in ENCODED_FOR:
        answer = await api.post(
            "/codec/decode", json=payloads_json(stored), headers=_headers(_token(settings, role))
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers[LEFT_ENCODED] == "1"
        encrypted, plain = _payloads(answer)
        assert encrypted.metadata["encoding"] == ENCODING
        assert encrypted.data == stored[0].data
        assert (
            encrypted.metadata[NOTE]
            == f"withheld: the {role.value} role reads no payloads".encode()
        )
        assert plain == stored[1]
        assert b"contraindication" not in answer.content

    rows = await _rows(pool, "codec.decode")
    assert [
        (r["actor_role"], r["detail"]["decrypted"], r["detail"]["left_encoded"]) for r in rows
    ] == [(role.value, 0, 1) for role in ENCODED_FOR]
    assert "contraindication" not in json.dumps(rows)


async def test_no_identity_is_401_and_a_patient_link_is_refused(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    body = payloads_json(await _stored(settings))
    for headers in (_headers(), _headers(Authorization="Bearer "), _headers("not-a-token")):
        answer = await api.post("/codec/decode", json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        # The UI can read why: the refusal carries the grant for its origin.
        assert answer.headers["access-control-allow-origin"] == UI
        assert b"contraindication" not in answer.content
    link = mint_patient_link(settings, journey_id="j-1", patient_id="p-1")
    answer = await api.post("/codec/decode", json=body, headers=_headers(link))
    assert answer.status_code == 403
    assert (await api.post("/codec/encode", json=body, headers=_headers())).status_code == 401
    assert await _rows(pool, "codec.decode") == []


async def test_another_namespace_or_origin_is_refused(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    body = payloads_json(await _stored(settings))
    token = _token(settings, Role.COORDINATOR)
    other = await api.post(
        "/codec/decode", json=body, headers=_headers(token, **{"X-Namespace": "billing"})
    )
    assert other.status_code == 403
    assert "serves namespace 'default'" in other.json()["detail"]
    [row] = await _rows(pool, "codec.decode")
    assert row["detail"] == {"namespace": "billing", "payloads": 2, "status": 403}

    headers = _headers(token)
    del headers["X-Namespace"]
    assert (await api.post("/codec/decode", json=body, headers=headers)).status_code == 422

    elsewhere = await api.post(
        "/codec/decode", json=body, headers=_headers(token, Origin="https://elsewhere.example")
    )
    assert elsewhere.status_code == 403
    assert "access-control-allow-origin" not in elsewhere.headers
    assert b"contraindication" not in elsewhere.content

    # The Temporal CLI sends no Origin: it is not a browser.
    headers = _headers(token)
    del headers["Origin"]
    cli = await api.post("/codec/decode", json=body, headers=headers)
    assert cli.status_code == 200
    assert "access-control-allow-origin" not in cli.headers

    text = await api.post(
        "/codec/decode",
        content=json.dumps(body),
        headers=_headers(token, **{"Content-Type": "text/plain"}),
    )
    assert text.status_code == 415


async def test_a_missing_or_wrong_key_leaves_the_payload_encoded_and_says_so(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    elsewhere = settings.model_copy(
        update={"payload_keys": SecretStr(new_payload_key_entry("k-elsewhere"))}
    )
    [unknown] = await build_data_converter(elsewhere).encode([DECISION])
    [tampered] = await build_data_converter(settings).encode([DECISION])
    tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
    [good] = await build_data_converter(settings).encode([DECISION])

    answer = await api.post(
        "/codec/decode",
        json=payloads_json([unknown, tampered, good]),
        headers=_headers(_token(settings, Role.MEDICAL_LEAD)),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers[LEFT_ENCODED] == "2"
    left_unknown, left_tampered, decoded = _payloads(answer)
    assert left_unknown.data == unknown.data
    assert left_unknown.metadata[KEY_ID_METADATA] == b"k-elsewhere"
    assert left_unknown.metadata[NOTE] == b"not decoded: key id 'k-elsewhere' is unknown"
    assert left_tampered.data == tampered.data
    assert left_tampered.metadata[NOTE] == (
        b"not decoded: failed authentication under key id 'test-2026'"
    )
    reader = pydantic_data_converter.payload_converter
    assert reader.from_payload(decoded, ReviewDecision) == DECISION


async def test_staff_who_read_payloads_may_encode_and_others_may_not(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    plain = pydantic_data_converter.payload_converter.to_payload(DECISION)
    body = payloads_json([plain])
    answer = await api.post(
        "/codec/encode", json=body, headers=_headers(_token(settings, Role.COORDINATOR))
    )
    assert answer.status_code == 200, answer.text
    [encrypted] = _payloads(answer)
    assert encrypted.metadata["encoding"] == ENCODING
    assert encrypted.metadata[KEY_ID_METADATA] == b"test-2026"
    assert b"contraindication" not in answer.content
    [decoded] = await build_data_converter(settings).decode([encrypted], [ReviewDecision])
    assert decoded == DECISION

    for role in (Role.AUDITOR, Role.REVIEWER):
        refused = await api.post(
            "/codec/encode", json=body, headers=_headers(_token(settings, role))
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == "encoding is for: coordinator, medical_lead"
    rows = await _rows(pool, "codec.encode")
    assert [(r["actor_role"], r["detail"]["status"]) for r in rows] == [
        ("coordinator", 200),
        ("auditor", 403),
        ("reviewer", 403),
    ]


async def test_bodies_that_are_not_protobuf_json_payloads_are_422(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    token = _token(settings, Role.COORDINATOR)
    data = base64.b64encode(b"x").decode()
    for body in (
        {},
        {"payloads": [{"data": "not base64!"}]},
        {"payloads": [{"data": data[:-3]}]},
        {"payloads": [{"metadata": {"encoding": 7}}]},
        {"payloads": "x"},
    ):
        answer = await api.post("/codec/decode", json=body, headers=_headers(token))
        assert answer.status_code == 422, (body, answer.text)
    empty = await api.post("/codec/decode", json={"payloads": []}, headers=_headers(token))
    assert (empty.status_code, empty.json()) == (200, {"payloads": []})


async def test_the_console_session_decodes_for_the_ui_and_not_once_it_idled(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """The Temporal UI in the same browser sends the console's session cookie ("include
    credentials"): a signed-in coordinator sees decoded payloads; an idle session, none."""
    from api.console.session import COOKIE_NAME
    from db.staff import StaffRepository
    from tests.browser import console_cookie

    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id="coord-9", full_name="Sofía", email="s@clinic.test", role="coordinator"
        )
    cookie = await console_cookie(settings, "coord-9")
    stored = await _stored(settings)
    api.cookies.set(COOKIE_NAME, cookie, domain="testserver.local", path="/")
    answer = await api.post("/codec/decode", json=payloads_json(stored), headers=_headers())
    assert answer.status_code == 200, answer.text
    decision, _ = _payloads(answer)
    assert pydantic_data_converter.payload_converter.from_payload(decision, ReviewDecision) == (
        DECISION
    )
    [row] = await _rows(pool, "codec.decode")
    assert (row["actor_id"], row["actor_role"]) == ("coord-9", "coordinator")

    # The session idles on the server; the same cookie, sent again and again, decodes nothing.
    await pool.execute(
        "UPDATE console_sessions SET seen_at = seen_at - make_interval(mins => $1 + 1)",
        settings.session_idle_minutes,
    )
    for _ in range(2):
        answer = await api.post("/codec/decode", json=payloads_json(stored), headers=_headers())
        assert answer.status_code == 401
        encode = await api.post("/codec/encode", json={"payloads": []}, headers=_headers())
        assert encode.status_code == 401
    # The call that found it idle ended it on the server, and said so in the audit log.
    assert [(r["actor_id"], r["detail"]) for r in await _rows(pool, "console.session_ended")] == [
        ("coord-9", {"reason": "idle"})
    ]
    assert await pool.fetchval("SELECT ended_reason FROM console_sessions") == "idle"
