"""Query parameters: each API route takes its own as one model, and refuses any other with 422,
as unknown body fields are refused: a misspelt filter (`?stgae=VALIDATION`) would otherwise
list every journey."""

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# A patient link's token may come as `?token=` instead of a bearer header: api/auth.py reads
# it, and its security scheme documents it, on every route.
LINK_TOKEN = "token"
UNKNOWN = "unknown query parameter"


class QueryParameters(BaseModel):
    """The query parameters of an API route, besides a link's token; a route's own extend
    these."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_named_as_such(cls, data: Any, handler: Any) -> Any:
        """Leaves the token to api/auth.py, and words pydantic's "extra input" as the API
        always has."""
        if isinstance(data, dict):
            data = {name: value for name, value in data.items() if name != LINK_TOKEN}
        try:
            return handler(data)
        except ValidationError as err:
            errors = [
                InitErrorDetails(
                    type=PydanticCustomError(
                        e["type"], UNKNOWN if e["type"] == "extra_forbidden" else e["msg"]
                    ),
                    loc=e["loc"],
                    input=e["input"],
                )
                for e in err.errors()
            ]
            raise ValidationError.from_exception_data(err.title, errors) from None


def _takes_no_query(query: Annotated[QueryParameters, Query(include_in_schema=False)]) -> None:
    """Refuses every query parameter but a link's token."""


TAKES_NO_QUERY = Depends(_takes_no_query)
"""The dependency of a route that takes no query parameters."""
