"""The one data converter of every Temporal client of the project, built from settings.

Pydantic models to JSON (one typed input per workflow, activity and update), every payload
encrypted by the codec, and failures' messages and stack traces moved into an encoded
attribute, so that the codec covers them too: an activity's failure can say more about a
patient than its input does. In production, unencrypted payloads are refused
(integrations/payload_codec.py).
"""

import dataclasses
from collections.abc import Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from integrations.payload_codec import JourneysPayloadConverter, PayloadEncryptionCodec
from integrations.payload_keys import parse_payload_keys
from settings import Settings


def build_data_converter(
    settings: Settings, *, refuse_unencrypted: bool | None = None
) -> DataConverter:
    """The data converter for `settings`: pydantic JSON, AES-256-GCM payloads under
    `JOURNEYS_PAYLOAD_KEYS`, failures encoded.

    Raises `PayloadKeyError` naming the setting when its value is malformed. Without keys it
    stores plaintext in development and refuses to store anything in production (where the
    worker and the API do not start without keys anyway). Unencrypted payloads are read in
    development and refused in production, unless `refuse_unencrypted` says otherwise: only
    readers that accept nothing into a journey (replay) may read them in production.
    """
    secret = settings.payload_keys.get_secret_value() if settings.payload_keys else ""
    codec = PayloadEncryptionCodec(
        parse_payload_keys(secret),
        plaintext_without_keys=settings.environment == "development",
        refuse_unencrypted=settings.environment == "production"
        if refuse_unencrypted is None
        else refuse_unencrypted,
    )
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=JourneysPayloadConverter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def decode_history(history: WorkflowHistory, converter: DataConverter) -> WorkflowHistory:
    """A copy of `history` with every payload run through the converter's codec.

    `fetch_history` hands back the events as the server stores them; readers of payloads (the
    timeline) need them decoded. The copy keeps the original untouched for those that must see
    what the server holds. Failures keep their encoded attributes, decoded to JSON.
    """
    events = []
    for event in history.events:
        copy = type(event)()
        copy.CopyFrom(event)
        events.append(copy)
    codec = converter.payload_codec
    if codec is not None:
        found = [p for event in events for p in _payloads(event)]
        if found:
            for stored, decoded in zip(found, await codec.decode(found), strict=True):
                stored.CopyFrom(decoded)
    return WorkflowHistory(history.workflow_id, events)


def _payloads(message: Message) -> Iterator[Payload]:
    """Every `Payload` inside `message`, however deep: in fields, lists and map values."""
    for descriptor, value in message.ListFields():
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        entry = descriptor.message_type
        if entry is not None and entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from _each(value.values())
        elif descriptor.is_repeated:
            yield from _each(value)
        else:
            yield from _each([value])


def _each(messages: object) -> Iterator[Payload]:
    for item in messages:  # type: ignore[attr-defined]
        if isinstance(item, Payload):
            yield item
        else:
            yield from _payloads(item)
