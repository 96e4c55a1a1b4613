"""Encrypts every payload Temporal stores: AES-256-GCM, one key per id, several keys at once.

Histories hold ids and coded decisions, never names or records; but a coded decision next to a
journey id (a rejection for a contraindication, an adverse event, a treatment date) is still
health data. This codec encrypts each payload whole (its metadata and data) under the first
key, and records in clear only the encoding marker and the key id, so that any process holding
that key, and only such a process, can read it back.

In development, payloads without the marker (histories recorded before encryption, such as the
committed replay corpus) decode unchanged. In production they are refused: whoever reaches
Temporal's port without the key could otherwise send a step in plain JSON that a worker would
take as a reviewer's, past the API's authorization and audit log. A payload whose key is
unknown, or whose ciphertext fails authentication, is an error naming the key id and never the
content.

A refused payload is not an exception of `decode`, but a stand-in that the data converter
refuses to read (`RefusedPayloadConverter`). The worker decodes a workflow task's payloads all
at once, before the workflow sees any: an exception there fails the task, which the server
retries with the same payloads for ever, and the journey answers no step and no query while a
single unencrypted signal sits in its history. Refused when read instead, an unencrypted
update is rejected by the workflow before it touches history, a signal is dropped (logged), a
workflow start fails that run, and the journey goes on.
"""

import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import EncodingPayloadConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

from integrations.payload_keys import SETTING, PayloadKey, PayloadKeyError

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
# Bound into each ciphertext with the key id, so that a payload relabelled with another key
# id, or a future format read as this one, fails authentication instead of decoding.
ASSOCIATED_DATA = b"journeys/payload/v1:"
# What an unencrypted payload becomes in production: the encoding alone, its content dropped.
REFUSED_ENCODING = b"binary/unencrypted-refused"
REFUSED_TYPE = "UnencryptedPayloadRefused"
REFUSED_MESSAGE = (
    "a payload arrived unencrypted and was refused unread: production accepts only payloads "
    f"encrypted under {SETTING}"
)


class PayloadDecodeError(ValueError):
    """An encrypted payload this codec cannot open; `key_id` says which key it names."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class UnencryptedPayloadRefused(ValueError):
    """An unencrypted payload, which production does not read."""

    def __init__(self) -> None:
        super().__init__(REFUSED_MESSAGE)


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


def refused_payload() -> Payload:
    return Payload(metadata={"encoding": REFUSED_ENCODING})


class PayloadEncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; the first key encrypts, every key decrypts.

    With no keys it encrypts nothing when `plaintext_without_keys` allows it (development
    only: production refuses to start without keys) and refuses to encode otherwise. It names
    the key of any encrypted payload it cannot open. Unencrypted payloads decode unchanged,
    unless `refuse_unencrypted` (production): then `decode` gives the refused stand-in in
    their place and `decrypt` raises `UnencryptedPayloadRefused`.
    """

    def __init__(
        self,
        keys: Sequence[PayloadKey],
        *,
        plaintext_without_keys: bool = False,
        refuse_unencrypted: bool = False,
    ) -> None:
        super().__init__()
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}
        self._current = keys[0].key_id if keys else None
        self._plaintext_without_keys = plaintext_without_keys
        self._refuse_unencrypted = refuse_unencrypted

    @property
    def refuses_unencrypted(self) -> bool:
        return self._refuse_unencrypted

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
        return [
            refused_payload()
            if self._refuse_unencrypted and not is_encrypted(payload)
            else self.decrypt(payload)
            for payload in payloads
        ]

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
        """The payload `payload` encrypted, or `payload` itself when it carries no marker
        (refused in production)."""
        if not is_encrypted(payload):
            if self._refuse_unencrypted:
                raise UnencryptedPayloadRefused()
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


class RefusedPayloadConverter(EncodingPayloadConverter):
    """Reads the stand-in of a refused payload as a non-retryable `ApplicationError` of type
    `UnencryptedPayloadRefused`, which names no content, and converts no value to it.

    An `ApplicationError` rather than any other exception because that is what a workflow
    fails on instead of failing its task again and again: a workflow started with unencrypted
    input fails at once, with nothing done.
    """

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise ApplicationError(REFUSED_MESSAGE, type=REFUSED_TYPE, non_retryable=True)


class JourneysPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON, and the refusal of the codec's refused payloads."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), RefusedPayloadConverter())
