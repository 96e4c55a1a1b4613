"""The keys of the payload codec, as `JOURNEYS_PAYLOAD_KEYS` gives them.

The value is a comma-separated list of `key_id:base64key` entries, each key 32 random bytes
(AES-256). The first entry encrypts; every entry decrypts, so a key is rotated by putting a new
one first and keeping the old ones for as long as a history they encrypted may be read.

Nothing here ever puts a key's bytes or its base64 text into a message: errors name the
setting, the entry's position and its key id.
"""

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field

SETTING = "JOURNEYS_PAYLOAD_KEYS"
KEY_BYTES = 32
# Key ids travel in clear in every payload's metadata and in error messages, so they are
# kept to plain, short names.
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NEW_PAYLOAD_KEY_COMMAND = (
    'python -c "import base64, secrets, time; '
    "print(time.strftime('k%Y%m%d') + ':' + base64.b64encode(secrets.token_bytes(32)).decode())\""
)


class PayloadKeyError(ValueError):
    """`JOURNEYS_PAYLOAD_KEYS` (or a file holding such a value) cannot be used."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    # Kept out of repr so that a key never reaches a log line or a traceback.
    secret: bytes = field(repr=False)


def parse_payload_keys(value: str, *, source: str = SETTING) -> tuple[PayloadKey, ...]:
    """The keys in `value`, first (encrypting) key first; empty for an empty value.

    Raises `PayloadKeyError` naming `source` and every bad entry.
    """
    if not value.strip():
        return ()
    problems: list[str] = []
    keys: list[PayloadKey] = []
    for n, entry in enumerate(value.split(","), 1):
        key, problem = _parse_entry(entry.strip(), n)
        if problem:
            problems.append(problem)
        elif key is not None and any(k.key_id == key.key_id for k in keys):
            problems.append(f"entry {n}: key id {key.key_id!r} appears twice")
        elif key is not None:
            keys.append(key)
    if problems:
        raise PayloadKeyError(f"{source}: " + "; ".join(problems))
    return tuple(keys)


def _parse_entry(entry: str, n: int) -> tuple[PayloadKey | None, str | None]:
    if not entry:
        return None, f"entry {n} is empty"
    key_id, colon, text = entry.partition(":")
    key_id = key_id.strip()
    if not colon:
        return None, f"entry {n} is not `key_id:base64key`"
    if not KEY_ID.fullmatch(key_id):
        return None, (
            f"entry {n}: the key id must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    try:
        secret = _b64decode(text.strip())
    except (binascii.Error, ValueError):
        return None, f"entry {n} (key id {key_id!r}): the key is not valid base64"
    if len(secret) != KEY_BYTES:
        return None, (
            f"entry {n} (key id {key_id!r}): the key is {len(secret)} bytes; "
            f"AES-256 needs {KEY_BYTES}"
        )
    return PayloadKey(key_id=key_id, secret=secret), None


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, with or without padding; anything else is refused (the
    lenient decoder would drop stray characters and yield a shorter, different key)."""
    text = text.replace("-", "+").replace("_", "/").rstrip("=")
    if not text:
        raise ValueError("empty")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def payload_key_problems(value: str | None) -> list[str]:
    """Why production may not run with this value of `JOURNEYS_PAYLOAD_KEYS`; empty if it may."""
    if value is None:
        return [
            f"{SETTING} is unset, so payloads would be stored unencrypted "
            f"(make a key with: {NEW_PAYLOAD_KEY_COMMAND})"
        ]
    if not value.strip():
        return [f"{SETTING} is empty (make a key with: {NEW_PAYLOAD_KEY_COMMAND})"]
    try:
        parse_payload_keys(value)
    except PayloadKeyError as err:
        return [str(err)]
    return []


def new_payload_key_entry(key_id: str) -> str:
    """A fresh `key_id:base64key` entry."""
    if not KEY_ID.fullmatch(key_id):
        raise PayloadKeyError(f"{key_id!r} is not a usable key id")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
