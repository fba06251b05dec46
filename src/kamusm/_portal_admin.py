"""The sandbox's admin side as one client: registering holders and cards.

It serves ``python -m kamusm.sandbox provision``, ``kamusm sandbox provision`` and the test
helpers (``TestHolder.register``). Over HTTP (:meth:`SandboxAdmin.over_http`) it speaks the
contract's admin endpoints with the admin token as bearer; in process
(``kamusm.sandbox.local_admin``) the same bodies go through the same contract check and the
same portal calls as the HTTP endpoints, without a socket. Either way a refusal is an
:class:`AdminRefused` with the contract's status, code and reason, and a network failure a
:class:`~kamusm.errors.PortalError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import httpx

from kamusm import _contract as contract
from kamusm._portal_errors import detached, translate_httpx_error

__all__ = ["AdminRefused", "SandboxAdmin"]

#: Sends one admin endpoint's body; raises AdminRefused or a PortalError.
Send = Callable[[contract.Endpoint, Mapping[str, Any]], None]

_TIMEOUT: Final = 10.0


class AdminRefused(Exception):  # noqa: N818 (a refusal, named for what it is)
    """The sandbox refused an admin request: HTTP ``status``, contract ``code``, ``reason``."""

    def __init__(self, status: int, code: str, reason: str | None) -> None:
        super().__init__(f"{status} {code} {reason or '-'}")
        self.status = status
        self.code = code
        self.reason = reason


def _iso(value: date | datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


class SandboxAdmin:
    """Registers holders and cards with a sandbox, through ``send``."""

    def __init__(self, send: Send) -> None:
        self._send = send

    @classmethod
    def over_http(
        cls, base_url: str, admin_token: str, *, timeout: float = _TIMEOUT
    ) -> SandboxAdmin:
        """The admin client of the sandbox at ``base_url`` (its origin; ``/api/v1`` may be
        given too)."""
        origin = base_url.rstrip("/").removesuffix(contract.API_PREFIX)

        def send(ep: contract.Endpoint, body: Mapping[str, Any]) -> None:
            try:
                with httpx.Client(timeout=timeout, trust_env=False) as http:
                    response = http.request(
                        ep.method,
                        origin + ep.url_path(),
                        json=dict(body),
                        headers={"Authorization": f"Bearer {admin_token}"},
                    )
            except httpx.HTTPError as exc:
                failure, cause = translate_httpx_error(exc), detached(exc)
                response = None
            if response is None:
                raise failure from cause  # no __context__ holding the request
            if response.status_code != ep.ok:
                try:
                    answer = response.json()
                except ValueError:
                    answer = {}
                answer = answer if isinstance(answer, dict) else {}
                code = answer.get("error")
                reason = answer.get("reason")
                raise AdminRefused(
                    response.status_code,
                    code if isinstance(code, str) else "-",
                    reason if isinstance(reason, str) else None,
                )

        return cls(send)

    def register_holder(
        self,
        *,
        tckn: str,
        name: str,
        birth_date: date | str,
        password: str,
        phone: str,
        security_word: str,
        passport: str | None = None,
        existing_ok: bool = True,
    ) -> bool:
        """Register a holder; ``False`` when one with that number is registered already
        (refused with :class:`AdminRefused` instead unless ``existing_ok``)."""
        ep = contract.endpoint("admin_holders")
        body = ep.request_body(
            tckn=tckn,
            name=name,
            birth_date=_iso(birth_date),
            password=password,
            phone=phone,
            security_word=security_word,
        )
        if passport is not None:
            body["passport"] = passport
        try:
            self._send(ep, body)
        except AdminRefused as err:
            if existing_ok and err.reason == "holder_exists":
                return False
            raise
        return True

    def register_card(
        self,
        *,
        serial: str,
        holder: str,
        product: str,
        so_credential: str,
        initial_pin: str | None = None,
        certificates: Iterable[Mapping[str, Any]] = (),
        rotate_so_credential: bool = True,
    ) -> None:
        """Register a card of ``holder`` with its SO credential and certificates (each with
        ``serial_number``, ``subject``, ``not_before``, ``not_after`` and optionally
        ``product`` and ``status``; times as datetimes or ISO 8601 text).
        ``rotate_so_credential`` is the card profile's setting (on by default): every
        unblock changes the card's SO credential to a fresh one."""
        ep = contract.endpoint("admin_cards")
        records = [
            {k: _iso(v) if isinstance(v, date | datetime) else v for k, v in c.items()}
            for c in certificates
        ]
        body = ep.request_body(
            serial=serial,
            holder=holder,
            product=product,
            so_credential=so_credential,
            rotate_so_credential=rotate_so_credential,
        )
        if initial_pin is not None:
            body["initial_pin"] = initial_pin
        if records:
            body["certificates"] = records
        self._send(ep, body)

    def __repr__(self) -> str:
        return "SandboxAdmin(<admin token hidden>)"
