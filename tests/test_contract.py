"""The client, the sandbox, the OpenAPI document and docs/portal-api.md agree, because each is
read from (or checked against) the one contract in ``kamusm._contract``:

- every endpoint the client calls exists in the sandbox and the document, with the fields the
  client sends (checked by the sandbox's own body check);
- every error code the sandbox can answer is one the client maps, with the contract's status;
- the documentation's tables list the contract's endpoints, fields and codes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Match

from kamusm import _contract as contract
from kamusm import _portal_errors
from kamusm.errors import PortalError
from kamusm.portal import (
    Captcha,
    EdevletMethod,
    Operation,
    PendingLogin,
    _Call,
    _PortalCore,
)
from kamusm.sandbox import SandboxPortal, SandboxSettings, create_app
from kamusm.sandbox._app import _Handlers
from kamusm.sandbox._openapi import openapi_document
from kamusm.sandbox._portal import ApiError
from kamusm.values import Product, SmsCode, Tckn, VerificationCode

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "src" / "kamusm" / "sandbox"
NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SETTINGS = SandboxSettings()


def _client_calls() -> Iterator[_Call[Any]]:
    """Every request the client can make, built by its pure core with sample inputs."""
    core = _PortalCore("http://127.0.0.1:1", clock=None, retries=0, backoff=0)
    code = VerificationCode("1" * SETTINGS.code_length)
    op = Operation(
        operation_id="op-1",
        holder=Tckn("10000000146"),
        product=Product.NES,
        card_serial="AKIS01",
        expires_at=NOW + timedelta(minutes=10),
        verification_code=code,
    )
    captcha = Captcha(captcha_id="c-1", text="ABC123", expires_at=NOW)
    pending = PendingLogin(pending_login_id="p-1", masked_phone="05*****99", expires_at=NOW)
    yield core.login_methods()
    for edevlet in EdevletMethod:
        yield core.login_edevlet(Tckn("10000000146"), "password", edevlet)
    yield core.captcha()
    yield core.login_sifreli_giris(Tckn("10000000146"), captcha, "ABC123", "kelime")
    yield core.confirm_login_sms(pending, SmsCode("123456"))
    yield core.logout()
    yield core.current_session()
    yield core.list_certificates()
    yield core.change_certificate("0C01", "suspend")
    yield core.change_certificate("0C01", "reactivate")
    yield core.change_certificate("0C01", "revoke", confirm=True)
    for product in Product:
        yield core.start_pin_reset(product)
    yield core.reveal_initial_pin("AKIS01")
    yield core.delete_initial_pin("AKIS01")
    yield core.redeem(code, "AKIS01")
    for method in contract.CHALLENGE_METHODS:
        yield core.request_challenge(op, method)
    yield core.confirm_challenge(op, SmsCode("123456"))
    yield core.report_result(op, True, None)
    yield core.report_result(op, False, "token.removed")


CALLS = list(_client_calls())


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    with SandboxPortal(settings=SETTINGS) as portal:
        yield create_app(portal)


def _route_for(app: Any, method: str, path: str) -> Any:
    scope = {"type": "http", "method": method, "path": path}
    for route in app.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.endpoint.name)
def test_every_request_of_the_client_is_one_the_sandbox_serves_and_accepts(
    call: _Call[Any], app: Any
) -> None:
    ep = call.endpoint
    assert contract.ENDPOINTS[ep.name] is ep
    path = ep.url_path(**call.path_args)
    assert _route_for(app, ep.method, path) is not None, f"no route for {ep.method} {path}"
    if ep.body is None:
        assert call.body is None
    else:
        # The sandbox's own check of the body: it accepts exactly what the client sends.
        contract.parse_body(ep.body, dict(call.body or {}), code_length=SETTINGS.code_length)


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.endpoint.name)
def test_every_request_of_the_client_is_in_the_document_with_its_fields(
    call: _Call[Any],
) -> None:
    ep = call.endpoint
    operation = openapi_document(SETTINGS)["paths"][ep.full_path][ep.method.lower()]
    assert str(ep.ok) in operation["responses"]
    if call.body is None:
        assert "requestBody" not in operation
        return
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(call.body) <= set(schema["properties"])
    assert set(schema.get("required", ())) <= set(call.body)


def test_the_client_calls_every_endpoint_of_the_holder_and_the_application() -> None:
    called = {c.endpoint.name for c in CALLS}
    wanted = {n for n, e in contract.ENDPOINTS.items() if e.role in ("holder", "application")}
    assert called == wanted


def test_every_endpoint_has_one_sandbox_handler_and_route(app: Any) -> None:
    with SandboxPortal(settings=SETTINGS) as portal:
        assert set(_Handlers(portal, "t").table()) == set(contract.ENDPOINTS)
    for ep in contract.ENDPOINTS.values():
        samples = {p.name: "X1" for p in ep.path_params}
        assert _route_for(app, ep.method, ep.url_path(**samples)) is not None, ep.name


def test_the_document_lists_exactly_the_documented_endpoints() -> None:
    paths = openapi_document(SETTINGS)["paths"]
    listed = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    wanted = {(e.full_path, e.method) for e in contract.ENDPOINTS.values() if e.in_document}
    assert listed == wanted


def _sandbox_error_codes() -> set[tuple[int | None, str]]:
    """Every ``ApiError(status, "code")`` the sandbox's source can raise, and the codes its
    HTTP error handler answers."""
    found: set[tuple[int | None, str]] = set()
    for source in SANDBOX.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError":
                status, code = node.args[0], node.args[1]
                if isinstance(code, ast.Name):
                    continue  # a code from a table: the table is scanned below
                assert isinstance(code, ast.Constant), f"{source.name}: a code not written out"
                assert isinstance(code.value, str)
                number = status.value if isinstance(status, ast.Constant) else None
                assert number is None or isinstance(number, int)
                found.add((number, code.value))
            if isinstance(node, ast.Dict) and all(
                isinstance(k, ast.Constant) and isinstance(k.value, int) for k in node.keys
            ):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        assert isinstance(key, ast.Constant) and isinstance(key.value, int)
                        found.add((key.value, value.value))
    return found


def test_every_error_code_the_sandbox_answers_is_mapped_by_the_client() -> None:
    answered = _sandbox_error_codes()
    assert len(answered) >= 15  # the scan does see the sandbox's refusals
    for status, code in answered:
        assert code in contract.ERRORS, code
        assert code in _portal_errors.BY_CODE, code
        if status is not None:
            assert status == contract.ERRORS[code].status, code
    assert set(_portal_errors.BY_CODE) == set(contract.ERRORS)


def test_a_refusal_outside_the_contract_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="not an error code"):
        ApiError(400, "made_up")


@pytest.mark.parametrize("code", sorted(contract.ERRORS))
def test_each_code_becomes_its_typed_error(code: str) -> None:
    err = _portal_errors.BY_CODE[code](
        _portal_errors.Refusal({"error": code}, contract.ERRORS[code].status)
    )
    assert isinstance(err, PortalError) and err.status == contract.ERRORS[code].status


def test_the_document_names_every_error_code() -> None:
    error = openapi_document(SETTINGS)["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["enum"] == list(contract.ERRORS)


def test_the_shared_values_are_the_library_ones() -> None:
    assert tuple(p.value for p in Product) == contract.PRODUCTS
    assert tuple(m.value for m in EdevletMethod) == contract.EDEVLET_METHODS


# ---- docs/portal-api.md -----------------------------------------------------------------------

DOC = (ROOT / "docs" / "portal-api.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\| `(GET|POST|DELETE) (/[^`]*)` \|(.*?)\|(.*)\|$", re.M)


def _field_names(cell: str) -> set[str]:
    """The field names a body cell lists: the first backticked word of each comma-separated
    item (``confirm: true`` names ``confirm``)."""
    items = re.split(r",(?![^(]*\))", cell)
    names = set()
    for item in items:
        found = re.search(r"`([^`]+)`", item)
        if found:
            names.add(found.group(1).split(":")[0].strip())
    return names


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_documented_requests_are_the_contract_endpoints_with_their_fields() -> None:
    rows = {(m, _shape(p)): body for m, p, body, _ in _ROW.findall(DOC)}
    endpoints = {
        (e.method, _shape(e.path)): e
        for e in contract.ENDPOINTS.values()
        if e.role in ("holder", "application")
    }
    assert set(rows) == set(endpoints)
    for key, body in rows.items():
        ep = endpoints[key]
        assert _field_names(body) == set(ep.body.names if ep.body else ()), ep.name


def test_the_documented_error_codes_are_the_contract_ones() -> None:
    table = re.findall(r"^\| `([a-z_]+)`[^|]*\| (\d{3}) \| `(\w+)` \|$", DOC, re.M)
    assert {code for code, _, _ in table} == set(contract.ERRORS)
    for code, status, name in table:
        assert int(status) == contract.ERRORS[code].status, code
        made = _portal_errors.BY_CODE[code](_portal_errors.Refusal({}, int(status)))
        assert type(made).__name__ == name, code
