"""JOURNEYS_PAYLOAD_KEYS: read strictly, never echoed, and required in production."""

import asyncio
import base64
import os
import secrets

import pytest
from pydantic import SecretStr

from api.app import create_app
from integrations.payload_keys import (
    NEW_PAYLOAD_KEY_COMMAND,
    PayloadKeyError,
    new_payload_key_entry,
    parse_payload_keys,
)
from settings import PRODUCTION_SECRETS, InsecureSettings, Settings
from tests.helpers import PRODUCTION_READY, journeys_command
from tests.test_secure_defaults import STRONG, Listener
from worker import run_worker

KEY = base64.b64encode(bytes(range(32))).decode()
SHORT = base64.b64encode(b"sixteen bytes!!!").decode()


def test_the_first_key_encrypts_and_every_listed_key_is_read() -> None:
    keys = parse_payload_keys(f" k2:{KEY} , k1:{base64.urlsafe_b64encode(bytes(32)).decode()}")
    assert [k.key_id for k in keys] == ["k2", "k1"]
    assert keys[0].secret == bytes(range(32)) and keys[1].secret == bytes(32)
    # Unpadded and URL-safe base64 are the same key.
    unpadded = parse_payload_keys(f"k:{KEY.rstrip('=').replace('+', '-').replace('/', '_')}")
    assert unpadded[0].secret == bytes(range(32))
    assert parse_payload_keys("") == ()
    assert len(parse_payload_keys(new_payload_key_entry("fresh"))[0].secret) == 32


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"k1:{SHORT}", "entry 1 (key id 'k1'): the key is 16 bytes; AES-256 needs 32"),
        ("k1:not*base64!", "entry 1 (key id 'k1'): the key is not valid base64"),
        (f"k1:{KEY[:-6]}", "entry 1 (key id 'k1'): the key is"),
        (KEY, "entry 1 is not `key_id:base64key`"),
        (f"k1:{KEY},,k2:{KEY}", "entry 2 is empty"),
        (f"k1:{KEY},k1:{KEY}", "entry 2: key id 'k1' appears twice"),
        (f"bad id:{KEY}", "entry 1: the key id must be"),
    ],
)
def test_malformed_keys_are_refused_naming_the_setting_never_the_key(
    value: str, problem: str
) -> None:
    with pytest.raises(PayloadKeyError) as refused:
        parse_payload_keys(value)
    message = str(refused.value)
    assert message.startswith("JOURNEYS_PAYLOAD_KEYS: ")
    assert problem in message
    for part in (KEY, KEY[:-6], SHORT, "not*base64"):
        assert part not in message


def test_a_key_is_never_in_a_repr() -> None:
    (key,) = parse_payload_keys(f"k:{KEY}")
    assert KEY not in repr(key) and str(bytes(range(32))) not in repr(key)
    assert KEY not in repr(Settings(payload_keys=SecretStr(f"k:{KEY}")))


def _production(**overrides: object) -> Settings:
    return Settings.model_validate(
        {"environment": "production", "temporal_tls": True} | PRODUCTION_READY | STRONG | overrides
    )


def test_production_requires_well_formed_payload_keys() -> None:
    assert _production(payload_keys=f"k:{KEY}").production_problems() == []
    (unset,) = _production(payload_keys=None).production_problems()
    assert unset.startswith("JOURNEYS_PAYLOAD_KEYS is unset, so payloads would be stored")
    assert NEW_PAYLOAD_KEY_COMMAND in unset
    (empty,) = _production(payload_keys=" ").production_problems()
    assert empty.startswith("JOURNEYS_PAYLOAD_KEYS is empty")
    (short,) = _production(payload_keys=f"k:{SHORT}").production_problems()
    assert short == (
        "JOURNEYS_PAYLOAD_KEYS: entry 1 (key id 'k'): the key is 16 bytes; AES-256 needs 32"
    )
    (garbled,) = _production(payload_keys="k:@@@@").production_problems()
    assert "not valid base64" in garbled
    assert Settings(environment="development", payload_keys=None).production_problems() == []


async def test_the_api_and_the_worker_refuse_production_without_keys_before_connecting() -> None:
    temporal, postgres = Listener(), Listener()
    try:
        settings = _production(
            payload_keys=None,
            temporal_address=f"127.0.0.1:{temporal.port}",
            database_url=f"postgresql://j:j@127.0.0.1:{postgres.port}/j",
        )
        app = create_app(settings)
        with pytest.raises(InsecureSettings, match="JOURNEYS_PAYLOAD_KEYS is unset"):
            async with app.router.lifespan_context(app):
                pass
        with pytest.raises(InsecureSettings, match="JOURNEYS_PAYLOAD_KEYS is unset"):
            await run_worker(settings)
        malformed = settings.model_copy(update={"payload_keys": SecretStr(f"k:{SHORT}")})
        with pytest.raises(InsecureSettings, match="JOURNEYS_PAYLOAD_KEYS: entry 1"):
            await run_worker(malformed)
        assert not temporal.was_connected and not postgres.was_connected
    finally:
        temporal.sock.close()
        postgres.sock.close()


async def test_journeys_worker_exits_2_naming_the_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env |= {f"JOURNEYS_{name.upper()}": STRONG[name] for name in PRODUCTION_SECRETS}
    env["JOURNEYS_PAYLOAD_KEYS"] = f"k:{secrets.token_urlsafe(8)}"
    done = await asyncio.to_thread(journeys_command, "worker", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "JOURNEYS_PAYLOAD_KEYS: entry 1 (key id 'k'): the key is" in done.stderr
    assert env["JOURNEYS_PAYLOAD_KEYS"].split(":")[1] not in done.stderr
