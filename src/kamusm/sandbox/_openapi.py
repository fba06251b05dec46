"""The OpenAPI 3.0 document of the portal contract, written by hand and served by the sandbox
at ``/api/v1/openapi.json``. ``docs/portal-api.md`` explains it in prose."""

from __future__ import annotations

from typing import Any

from kamusm.sandbox._settings import SandboxSettings

__all__ = ["openapi_document"]

_ERROR_CODES = [
    "bad_request",
    "payload_too_large",
    "authentication_required",
    "login_failed",
    "login_method_unavailable",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "verification_code_invalid",
    "verification_code_expired",
    "verification_code_used",
    "card_not_owned",
    "sms_code_rejected",
    "sms_code_expired",
    "operation_cancelled",
    "rate_limited",
    "server_error",
]

_TIME = {"type": "string", "format": "date-time"}
_PRODUCT = {"type": "string", "enum": ["nes", "mali_muhur"]}
_SERIAL = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$", "minLength": 1, "maxLength": 64}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    props = dict(required)
    props.update(optional or {})
    schema: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = sorted(required)
    return schema


def _text(max_len: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len, **extra}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in (*statuses, 400, 413):
        response: dict[str, Any] = {"description": "refused", **_json(_ref("Error"))}
        if status == 429:
            response["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "seconds"}
            }
        out[str(status)] = response
    return out


def _op(
    summary: str,
    ok: tuple[int, dict[str, Any] | None],
    *errors: int,
    body: dict[str, Any] | None = None,
    security: str | None = None,
    tags: list[str],
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status, schema = ok
    responses: dict[str, Any] = {
        str(status): {"description": "done", **(_json(schema) if schema else {})}
    }
    if security is not None:
        errors = (*errors, 401)
    responses.update(_errors(*errors))
    op: dict[str, Any] = {"summary": summary, "tags": tags, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if security is not None:
        op["security"] = [{security: []}]
    if parameters:
        op["parameters"] = parameters
    return op


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def openapi_document(settings: SandboxSettings) -> dict[str, Any]:
    """The contract as OpenAPI 3.0.3, with this deployment's code lengths filled in."""
    code_len = settings.code_length
    code = {"type": "string", "pattern": f"^[0-9]{{{code_len}}}$"}
    capability = _text(64)
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "enum": _ERROR_CODES},
                "message": {"type": "string"},
                "reason": {"type": "string"},
                "attempts_remaining": {"type": "integer", "minimum": 0},
                "retry_after": {"type": "integer", "minimum": 1},
            },
        },
        "Session": _obj(
            {
                "session_token": {"type": "string"},
                "holder": {"type": "string", "pattern": "^[1-9][0-9]{10}$"},
                "method": {"type": "string", "enum": ["edevlet", "sifreli_giris"]},
                "expires_at": _TIME,
            }
        ),
        "SessionInfo": _obj(
            {
                "holder": {"type": "string", "pattern": "^[1-9][0-9]{10}$"},
                "method": {"type": "string", "enum": ["edevlet", "sifreli_giris"]},
                "expires_at": _TIME,
            }
        ),
        "LoginMethod": _obj(
            {
                "method": {"type": "string"},
                "kind": {"type": "string", "enum": ["edevlet", "kamusm"]},
                "available": {"type": "boolean"},
            }
        ),
        "Captcha": _obj(
            {"captcha_id": {"type": "string"}, "text": {"type": "string"}, "expires_at": _TIME}
        ),
        "PendingLogin": _obj(
            {
                "pending_login_id": {"type": "string"},
                "masked_phone": {"type": "string"},
                "expires_at": _TIME,
            }
        ),
        "Certificate": _obj(
            {
                "serial_number": {"type": "string"},
                "card_serial": {"type": "string"},
                "product": _PRODUCT,
                "subject": {"type": "string"},
                "status": {"type": "string", "enum": ["active", "suspended", "revoked"]},
                "not_before": _TIME,
                "not_after": _TIME,
                "expired": {"type": "boolean"},
            }
        ),
        "VerificationCodeIssued": _obj(
            {
                "verification_code": code,
                "product": _PRODUCT,
                "length": {"type": "integer"},
                "issued_at": _TIME,
                "expires_at": _TIME,
                "validity_seconds": {"type": "integer"},
            }
        ),
        "InitialPin": _obj({"card_serial": {"type": "string"}, "initial_pin": {"type": "string"}}),
        "Operation": _obj(
            {
                "operation_id": {"type": "string"},
                "holder": {"type": "string", "pattern": "^[1-9][0-9]{10}$"},
                "product": _PRODUCT,
                "card_serial": {"type": "string"},
                "expires_at": _TIME,
                "pin_entry_deadline": _TIME,
            }
        ),
        "Challenge": _obj(
            {
                "method": {"type": "string", "enum": ["sms", "web_password"]},
                "expires_at": _TIME,
                "attempts_remaining": {"type": "integer", "minimum": 0},
                "masked_phone": {"type": "string", "nullable": True},
            }
        ),
        "Authorization": _obj(
            {
                "authorization": _obj(
                    {
                        "credential": {"type": "string"},
                        "card_serial": {"type": "string"},
                        "expires_at": _TIME,
                        "operation_id": {"type": "string"},
                    }
                )
            }
        ),
        "CertificateRegistration": _obj(
            {
                "serial_number": _SERIAL,
                "subject": _text(256),
                "not_before": _TIME,
                "not_after": _TIME,
            },
            {
                "product": _PRODUCT,
                "status": {"type": "string", "enum": ["active", "suspended", "revoked"]},
            },
        ),
        "SmsMessage": _obj(
            {
                "phone": {"type": "string"},
                "sent_at": _TIME,
                "purpose": {"type": "string"},
                "text": {"type": "string"},
                "code": {"type": "string"},
            }
        ),
        "AuditEntry": _obj(
            {
                "at": _TIME,
                "actor": {"type": "string"},
                "event": {"type": "string"},
                "holder_id": {"type": "integer", "nullable": True},
                "card_serial": {"type": "string", "nullable": True},
                "detail": {"type": "object"},
            }
        ),
    }
    holder_tags = ["holder"]
    app_tags = ["application"]
    admin_tags = ["admin"]
    cert_param = [_path_param("serial_number", _SERIAL)]
    card_param = [_path_param("card_serial", _SERIAL)]
    paths: dict[str, Any] = {
        "/api/v1/health": {
            "get": _op(
                "Liveness",
                (200, _obj({"status": {"type": "string"}})),
                tags=["meta"],
            )
        },
        "/api/v1/login-methods": {
            "get": _op(
                "The login methods and whether this deployment offers them",
                (200, _obj({"methods": {"type": "array", "items": _ref("LoginMethod")}})),
                tags=holder_tags,
            )
        },
        "/api/v1/session/edevlet": {
            "post": _op(
                "Log in through e-Devlet (only the password method is available here)",
                (200, _ref("Session")),
                401,
                422,
                429,
                body=_obj(
                    {"tckn": _text(11), "password": _text(128)},
                    {
                        "method": {
                            "type": "string",
                            "enum": [
                                "password",
                                "mobile_signature",
                                "e_signature",
                                "id_card",
                                "internet_banking",
                            ],
                        }
                    },
                ),
                tags=holder_tags,
            )
        },
        "/api/v1/session/captcha": {
            "post": _op("A captcha for Şifreli Giriş", (200, _ref("Captcha")), tags=holder_tags)
        },
        "/api/v1/session/sifreli-giris": {
            "post": _op(
                "Şifreli Giriş: ID number, captcha and security word; sends an SMS code",
                (200, _ref("PendingLogin")),
                401,
                429,
                body=_obj(
                    {
                        "id_number": _text(32),
                        "captcha_id": _text(64),
                        "captcha_answer": _text(32),
                        "security_word": _text(128),
                    }
                ),
                tags=holder_tags,
            )
        },
        "/api/v1/session/sifreli-giris/confirm": {
            "post": _op(
                "Şifreli Giriş: the SMS code opens the session",
                (200, _ref("Session")),
                401,
                409,
                410,
                422,
                429,
                body=_obj({"pending_login_id": _text(64), "sms_code": _text(16)}),
                tags=holder_tags,
            )
        },
        "/api/v1/session": {
            "get": _op(
                "The current session",
                (200, _ref("SessionInfo")),
                security="session",
                tags=holder_tags,
            ),
            "delete": _op("Log out", (204, None), security="session", tags=holder_tags),
        },
        "/api/v1/certificates": {
            "get": _op(
                "The holder's certificates with status and validity",
                (200, _obj({"certificates": {"type": "array", "items": _ref("Certificate")}})),
                security="session",
                tags=holder_tags,
            )
        },
        "/api/v1/certificates/{serial_number}/suspend": {
            "post": _op(
                "Suspend a certificate",
                (200, _ref("Certificate")),
                404,
                409,
                security="session",
                tags=holder_tags,
                parameters=cert_param,
            )
        },
        "/api/v1/certificates/{serial_number}/reactivate": {
            "post": _op(
                "Re-activate a suspended certificate (Askıdan İndirme)",
                (200, _ref("Certificate")),
                404,
                409,
                security="session",
                tags=holder_tags,
                parameters=cert_param,
            )
        },
        "/api/v1/certificates/{serial_number}/revoke": {
            "post": _op(
                "Revoke a certificate: irreversible, needs confirm=true",
                (200, _ref("Certificate")),
                404,
                409,
                body=_obj({"confirm": {"type": "boolean"}}),
                security="session",
                tags=holder_tags,
                parameters=cert_param,
            )
        },
        "/api/v1/pin-reset": {
            "post": _op(
                "Issue a verification code for a PIN reset (again: Tekrar Kod Al)",
                (201, _ref("VerificationCodeIssued")),
                409,
                body=_obj({"product": _PRODUCT}),
                security="session",
                tags=holder_tags,
            )
        },
        "/api/v1/cards/{card_serial}/initial-pin/reveal": {
            "post": _op(
                "Show the legacy initial PIN once (Şifreli Giriş session only)",
                (200, _ref("InitialPin")),
                403,
                404,
                409,
                security="session",
                tags=holder_tags,
                parameters=card_param,
            )
        },
        "/api/v1/cards/{card_serial}/initial-pin": {
            "delete": _op(
                "Delete the legacy initial PIN for good (Sil)",
                (204, None),
                404,
                security="session",
                tags=holder_tags,
                parameters=card_param,
            )
        },
        "/api/v1/operations": {
            "post": _op(
                "Redeem a verification code for one card of its holder",
                (201, _ref("Operation")),
                401,
                403,
                409,
                410,
                429,
                body=_obj({"verification_code": code, "card_serial": _SERIAL}),
                tags=app_tags,
            )
        },
        "/api/v1/operations/challenge": {
            "post": _op(
                "Ask for the confirmation challenge (SMS code or web password)",
                (200, _ref("Challenge")),
                401,
                409,
                410,
                429,
                body=_obj(
                    {"operation_id": capability, "verification_code": capability},
                    {"method": {"type": "string", "enum": ["sms", "web_password"]}},
                ),
                tags=app_tags,
            )
        },
        "/api/v1/operations/confirm": {
            "post": _op(
                "Answer the challenge; the right answer releases the unblock authorization",
                (200, _ref("Authorization")),
                401,
                409,
                410,
                422,
                429,
                body=_obj(
                    {
                        "operation_id": capability,
                        "verification_code": capability,
                        "answer": _text(128),
                    }
                ),
                tags=app_tags,
            )
        },
        "/api/v1/operations/result": {
            "post": _op(
                "Report how the card operation ended",
                (204, None),
                401,
                409,
                410,
                429,
                body=_obj(
                    {
                        "operation_id": capability,
                        "verification_code": capability,
                        "success": {"type": "boolean"},
                    },
                    {"reason": {"type": "string", "pattern": "^[A-Za-z_.-]{1,64}$"}},
                ),
                tags=app_tags,
            )
        },
        "/api/v1/admin/holders": {
            "post": _op(
                "Register a holder",
                (204, None),
                404,
                409,
                body=_obj(
                    {
                        "tckn": {"type": "string", "pattern": "^[1-9][0-9]{10}$"},
                        "name": _text(128),
                        "birth_date": {"type": "string", "format": "date"},
                        "password": _text(128),
                        "phone": _text(32),
                        "security_word": _text(128),
                    },
                    {"passport": _text(32)},
                ),
                security="admin",
                tags=admin_tags,
            )
        },
        "/api/v1/admin/cards": {
            "post": _op(
                "Register a card with its SO credential and certificates",
                (204, None),
                404,
                409,
                body=_obj(
                    {
                        "serial": _SERIAL,
                        "holder": {"type": "string", "pattern": "^[1-9][0-9]{10}$"},
                        "product": _PRODUCT,
                        "so_credential": _text(64),
                    },
                    {
                        "initial_pin": _text(32),
                        "certificates": {
                            "type": "array",
                            "maxItems": 16,
                            "items": _ref("CertificateRegistration"),
                        },
                    },
                ),
                security="admin",
                tags=admin_tags,
            )
        },
        "/api/v1/admin/outbox": {
            "get": _op(
                "The SMS outbox",
                (200, _obj({"messages": {"type": "array", "items": _ref("SmsMessage")}})),
                security="admin",
                tags=admin_tags,
                parameters=[
                    {"name": "phone", "in": "query", "required": False, "schema": _text(32)}
                ],
            )
        },
        "/api/v1/admin/audit": {
            "get": _op(
                "The audit log",
                (200, _obj({"entries": {"type": "array", "items": _ref("AuditEntry")}})),
                security="admin",
                tags=admin_tags,
            )
        },
        "/api/v1/admin/clock": {
            "post": _op(
                "Move a manual clock forward (test deployments)",
                (200, _obj({"now": _TIME})),
                409,
                body=_obj(
                    {"advance_seconds": {"type": "number", "minimum": 0, "maximum": 315360000}}
                ),
                security="admin",
                tags=admin_tags,
            )
        },
    }
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
