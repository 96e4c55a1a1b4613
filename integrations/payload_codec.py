"""Encrypts every payload Temporal stores: AES-256-GCM, one key per id, several keys at once.

Histories hold ids and coded decisions, never names or records; but a coded decision next to a
journey id (a rejection for a contraindication, an adverse event, a treatment date) is still
health data. This codec encrypts each payload whole (its metadata and data) under the first
key, and records in clear only the encoding marker and the key id, so that any process holding
that key, and only such a process, can read it back.

Payloads without the marker (histories recorded before encryption, such as the committed
replay corpus) decode unchanged. A payload whose key is unknown, or whose ciphertext fails
authentication, is an error naming the key id and never the content.
"""

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from integrations.payload_keys import SETTING, PayloadKey, PayloadKeyError

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
# Bound into each ciphertext with the key id, so that a payload relabelled with another key
# id, or a future format read as this one, fails authentication instead of decoding.
ASSOCIATED_DATA = b"journeys/payload/v1:"


class PayloadDecodeError(ValueError):
    """An encrypted payload this codec cannot open; `key_id` says which key it names."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class UnknownPayloadKey(PayloadDecodeError):
    """The payload names a key id that is not among the configured keys."""


class PayloadAuthenticationFailed(PayloadDecodeError):
    """The ciphertext does not authenticate under the key its id names: altered, or made
    with another key that carried the same id."""


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def key_id_of(payload: Payload) -> str:
    """The key id an encrypted payload names, cut short: it is read from stored data and ends
    up in error messages."""
    return payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")[:64]


class PayloadEncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; the first key encrypts, every key decrypts.

    With no keys it encrypts nothing when `plaintext_without_keys` allows it (development
    only: production refuses to start without keys) and refuses to encode otherwise; either
    way it decodes unencrypted payloads and names the key of any encrypted one.
    """

    def __init__(self, keys: Sequence[PayloadKey], *, plaintext_without_keys: bool = False) -> None:
        super().__init__()
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}
        self._current = keys[0].key_id if keys else None
        self._plaintext_without_keys = plaintext_without_keys

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The configured key ids, the encrypting one first."""
        return tuple(self._ciphers)

    @property
    def encrypting_key_id(self) -> str | None:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._current is None:
            if self._plaintext_without_keys:
                return list(payloads)
            raise PayloadKeyError(
                f"{SETTING} is unset: refusing to store payloads unencrypted in production"
            )
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """`payload` encrypted under the first key."""
        key_id = self._current
        if key_id is None:
            raise PayloadKeyError(f"{SETTING} is unset: there is no key to encrypt with")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, payload.SerializeToString(), ASSOCIATED_DATA + key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The payload `payload` encrypted, or `payload` itself when it carries no marker."""
        if not is_encrypted(payload):
            return payload
        key_id = key_id_of(payload)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(repr(k) for k in self._ciphers) or f"none: {SETTING} is unset"
            raise UnknownPayloadKey(
                f"a payload is encrypted under key id {key_id!r}, which is not among the keys "
                f"in {SETTING} (known: {known})",
                key_id,
            )
        data = payload.data
        try:
            opened = cipher.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], ASSOCIATED_DATA + key_id.encode()
            )
            return Payload.FromString(opened)
        except (InvalidTag, DecodeError, ValueError):
            # ValueError: data too short to hold a nonce and a tag.
            raise PayloadAuthenticationFailed(
                f"a payload under key id {key_id!r} failed authentication: it was altered, or "
                "encrypted with another key that had the same id",
                key_id,
            ) from None
