"""/openapi.json as a client generator and a reader of /docs take it, from the running app."""

from collections.abc import Iterator
from typing import Any

import httpx
from openapi_spec_validator import validate

from tests.helpers import valid_form


async def _document(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local reference points to, or None when it points nowhere."""
    if not ref.startswith("#/"):
        return None
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


async def test_the_document_is_valid_and_every_reference_resolves(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    validate(document)
    # The validator (0.9) lets a schema's `$ref` to nowhere pass, so each one is followed here.
    dangling = sorted({ref for ref in _refs(document) if _resolve(document, ref) is None})
    assert dangling == []


async def test_the_inquiry_body_lists_the_form_fields(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    content = document["paths"]["/api/v1/inquiries"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    for media_type, body in content.items():
        schema = _resolve(document, body["schema"]["$ref"])
        assert schema is not None, media_type
        # The consent text's language is optional: the form page sends its own language.
        assert set(schema["properties"]) == set(valid_form()) | {"consent_language"}, media_type
        assert {"full_name", "email", "consent_health_data", "injury_level"} <= set(
            schema["required"]
        )
        assert schema["properties"]["consent_health_data"]["type"] == "boolean"
        cause = _resolve(document, schema["properties"]["injury_cause"]["$ref"])
        assert "traffic" in cause["enum"]


async def test_the_clinic_webhook_body_lists_the_event_and_its_reports(
    api: httpx.AsyncClient,
) -> None:
    document = await _document(api)
    body = document["paths"]["/api/v1/webhooks/clinic"]["post"]["requestBody"]
    event = _resolve(document, body["content"]["application/json"]["schema"]["$ref"])
    assert event is not None
    assert set(event["required"]) == {"event_id", "journey_id", "type"}
    assert event["properties"]["type"]["enum"] == [
        "admission",
        "procedure",
        "discharge",
        "adverse_event",
    ]
    procedure_ref = next(
        option["$ref"] for option in event["properties"]["procedure"]["anyOf"] if "$ref" in option
    )
    procedure = _resolve(document, procedure_ref)
    assert {"cells_given", "minutes", "lot"} <= set(procedure["required"])
