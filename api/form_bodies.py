"""A step's body from an HTML form: the console's and the patient page's forms post their
fields under the body model's own names, and this reads them into that model, so a form needs
no code of its own beyond its fields.

Text is trimmed and an empty field is left to the model's default; a list field reads every
value of its name; a yes/no field reads `yes`, `on`, `true` or `1` as yes and `no`, `off`,
`false` or `0` as no; a nested model (a treatment plan in a consultation's outcome) is read
from its own fields, and only when all of its required ones were filled in.
"""

import types
import typing
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import FormData

YES = frozenset({"yes", "on", "true", "1"})
NO = frozenset({"no", "off", "false", "0"})


def body_from_form(model: type[BaseModel], form: FormData) -> BaseModel:
    """`model` validated from the form's fields (pydantic's errors name the fields)."""
    return model.model_validate(_values(model, form))


def _values(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        kind = _kind(field.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            nested = _values(kind, form)
            required = {n for n, f in kind.model_fields.items() if f.is_required()}
            if nested and required <= set(nested):
                values[name] = nested
        elif kind is list:
            values[name] = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v]
        else:
            text = _text(form, name)
            if text is None:
                continue
            if kind is bool:
                values[name] = _yes_or_no(text)
            elif kind is Decimal:
                values[name] = _decimal(text)
            else:
                values[name] = text
    return values


def _kind(annotation: Any) -> Any:
    """The annotation without `| None` and `Annotated[...]`: a class, or `list`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(inner[0]) if len(inner) == 1 else annotation
    if origin in (list, tuple):
        return list
    return annotation


def _yes_or_no(text: str) -> bool | str:
    """The form's yes or no; anything else is left for the model to refuse."""
    lowered = text.lower()
    return True if lowered in YES else False if lowered in NO else text


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _decimal(value: str) -> Decimal | str:
    """`5,5` and `5.5` alike; anything else is left for the model to refuse."""
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:
        return value
