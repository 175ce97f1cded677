"""Errors as problem details (RFC 9457): the one shape every refusal takes, and its OpenAPI
description, so clients (and schemathesis) know every answer an operation can give."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

PROBLEM_JSON = "application/problem+json"


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    params: dict[str, str | int | float]
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
    retry_after: int | None = None


def problem_response(problem: Problem) -> Response[Problem]:
    headers = {}
    if problem.retry_after is not None:
        headers["Retry-After"] = str(problem.retry_after)
    return Response(problem, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


_STRING = Schema(type=OpenAPIType.STRING)
_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail", "code", "params"],
    properties={
        "type": _STRING,
        "title": _STRING,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": _STRING,
        "code": Schema(
            type=OpenAPIType.STRING,
            description="Names the problem for programs, stable (the detail's words may change).",
        ),
        "params": Schema(
            type=OpenAPIType.OBJECT,
            additional_properties=Schema(
                one_of=[_STRING, Schema(type=OpenAPIType.NUMBER)],
            ),
            description="The values the detail fills in (ids, limits, a template's line).",
        ),
        "field": _STRING,
        "errors": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
        "retry_after": Schema(type=OpenAPIType.INTEGER),
    },
    description="A refusal with a message a person can act on (RFC 9457).",
)

_MEANINGS = {
    "400": "The request is malformed (a parameter or field has the wrong type or shape).",
    "401": "Not signed in.",
    "403": "Signed in, but not allowed (the detail says why), or the CSRF check failed.",
    "404": "No such resource in your company.",
    "405": "This path does not accept this method.",
    "409": "The change conflicts with the current state.",
    "413": "The upload or request is too large.",
    "415": "The uploaded file's type is not accepted.",
    "422": "A field's value is not acceptable (the detail and `field` say which).",
    "429": "Too many attempts; wait `retry_after` seconds.",
}


def document_problems(schema: OpenAPI) -> None:
    """Every API operation may answer these problems; describe them once for all."""
    components = schema.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas["Problem"] = _PROBLEM_SCHEMA
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, item in (schema.paths or {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in (item.get, item.put, item.post, item.delete, item.patch):
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for status, meaning in _MEANINGS.items():
                responses[status] = OpenAPIResponse(description=meaning, content=content)
            operation.responses = responses
