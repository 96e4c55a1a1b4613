"""The OpenAPI document: FastAPI's, plus the schemas of bodies that routes read themselves.

The clinic webhook checks its signature over the raw bytes before parsing, so it declares no
body parameter: it names its model in `openapi_extra` with a `$ref`, and FastAPI, not knowing
the model, would leave that reference pointing nowhere (a client generator stops there, `/docs`
shows no fields).
"""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

SCHEMA_REF = "#/components/schemas/{model}"


def install_openapi(app: FastAPI, *, body_models: Sequence[type[BaseModel]]) -> None:
    """Serve FastAPI's document with the schemas of `body_models` (and what they nest)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            add_schemas(document, body_models)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_schemas(document: dict[str, Any], models: Sequence[type[BaseModel]]) -> None:
    """Add each model's request schema to the document's components, refusing a name clash."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=SCHEMA_REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in top.get("$defs", {}).items():
        # Two different models of one name would silently describe one body with the other.
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name} in the OpenAPI document")
