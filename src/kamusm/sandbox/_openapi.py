"""The OpenAPI 3.0 document of the portal contract, generated from :mod:`kamusm._contract` and
served by the sandbox at ``/api/v1/openapi.json``. ``docs/portal-api.md`` explains it in
prose."""

from __future__ import annotations

from typing import Any

from kamusm import _contract as contract
from kamusm._contract import Endpoint, Field, Schema
from kamusm.sandbox._settings import SandboxSettings

__all__ = ["openapi_document"]

_TAGS = {"meta": "meta", "holder": "holder", "application": "application", "admin": "admin"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _field(field: Field, code_length: int, *, request: bool) -> dict[str, Any]:
    """The JSON Schema of one field, with its limits; request strings are never empty."""
    schema = _kind(field, code_length, request=request)
    limits = {
        "pattern": f"^{field.pattern}$" if field.pattern is not None else None,
        "minLength": 1 if request and field.kind == "text" else None,
        "maxLength": field.max_len if request else None,
        "minimum": field.minimum,
        "maximum": field.maximum,
        "maxItems": field.max_items,
        "nullable": True if field.nullable else None,
    }
    schema.update((key, value) for key, value in limits.items() if value is not None)
    return schema


def _kind(field: Field, code_length: int, *, request: bool) -> dict[str, Any]:  # noqa: PLR0911 (one branch a kind)
    if field.ref is not None:
        item = _ref(field.ref)
        return {"type": "array", "items": item} if field.kind == "list" else item
    if field.kind in ("list", "object"):
        assert field.schema is not None  # noqa: S101 (a list or object without a ref has one)
        inner = _object(field.schema, code_length, request=request)
        return {"type": "array", "items": inner} if field.kind == "list" else inner
    if field.kind == "code":
        return {"type": "string", "pattern": f"^[0-9]{{{code_length}}}$"}
    if field.kind in ("choice", "product"):
        options = field.options if field.kind == "choice" else contract.PRODUCTS
        return {"type": "string", "enum": list(options)}
    if field.kind == "tckn":
        return {"type": "string", "pattern": f"^{contract.TCKN_PATTERN}$"}
    if field.kind in ("date", "moment"):
        return {"type": "string", "format": "date" if field.kind == "date" else "date-time"}
    if field.kind == "any_object":
        return {"type": "object"}
    json_type = {"text": "string", "boolean": "boolean", "integer": "integer", "number": "number"}
    return {"type": json_type[field.kind]}


def _object(schema: Schema, code_length: int, *, request: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _field(f, code_length, request=request) for f in schema.fields},
        "additionalProperties": False,
    }
    required = sorted(f.name for f in schema.fields if f.required)
    if required:
        out["required"] = required
    return out


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(ep: Endpoint, code_length: int) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "done"}
    if ep.answer is not None:
        ok.update(_json(_ref(ep.answer)))
    responses: dict[str, Any] = {str(ep.ok): ok}
    for status in ep.statuses:
        refused: dict[str, Any] = {"description": "refused", **_json(_ref("Error"))}
        if status == 429:
            refused["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "seconds"}
            }
        responses[str(status)] = refused
    op: dict[str, Any] = {"summary": ep.summary, "tags": [_TAGS[ep.role]], "responses": responses}
    if ep.body is not None:
        op["requestBody"] = {
            "required": True,
            **_json(_object(ep.body, code_length, request=True)),
        }
    if ep.auth != "none":
        op["security"] = [{ep.auth: []}]
    parameters = [
        {
            "name": p.name,
            "in": "path",
            "required": True,
            "schema": _field(p, code_length, request=True),
        }
        for p in ep.path_params
    ]
    if ep.query is not None:
        parameters += [
            {
                "name": q.name,
                "in": "query",
                "required": q.required,
                "schema": _field(q, code_length, request=True),
            }
            for q in ep.query.fields
        ]
    if parameters:
        op["parameters"] = parameters
    return op


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": list(contract.ERRORS)},
            "message": {"type": "string"},
            "reason": {"type": "string"},
            "attempts_remaining": {"type": "integer", "minimum": 0},
            "retry_after": {"type": "integer", "minimum": 1},
        },
    }


def openapi_document(settings: SandboxSettings) -> dict[str, Any]:
    """The contract as OpenAPI 3.0.3, with this deployment's code lengths filled in."""
    code_length = settings.code_length
    schemas: dict[str, Any] = {"Error": _error_schema()}
    for name, schema in contract.ANSWERS.items():
        schemas[name] = _object(schema, code_length, request=False)
    paths: dict[str, Any] = {}
    for ep in contract.ENDPOINTS.values():
        if ep.in_document:
            paths.setdefault(ep.full_path, {})[ep.method.lower()] = _operation(ep, code_length)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kamusm portal contract",
            "version": "1",
            "description": "The API the kamusm portal client speaks; see docs/portal-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "http", "scheme": "bearer"},
                "admin": {"type": "http", "scheme": "bearer"},
            },
        },
    }
