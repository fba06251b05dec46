"""``kamusm doctor``: the checks a help desk runs first, each problem with its fix.

Checks, in order: the PKCS#11 module (found, loadable, built for this architecture); the
service the module needs (pcscd for a smart-card driver, pkcsslotd for opencryptoki); a card
present; per card, another application holding it, the PIN state, and certificates expired or
expiring within 30 days; the portal reachable, when its address is known. Reading spends no PIN
try: nothing here logs in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from kamusm._cli._common import Settings, date_text
from kamusm._cli._inventory import CardRead, read_cards
from kamusm._cli._texts import one_or_many, text
from kamusm.errors import (
    InputError,
    Pkcs11ModuleNotFoundError,
    PortalError,
    PortalTlsError,
    TokenBusyError,
    TokenError,
)
from kamusm.messages import Language

if TYPE_CHECKING:
    from kamusm.token import Pkcs11Module

Status = Literal["ok", "warn", "fail", "skip"]

#: Certificates ending within this many days are reported.
EXPIRY_WARNING_DAYS = 30

_PCSCD_SOCKETS = ("/run/pcscd/pcscd.comm", "/var/run/pcscd/pcscd.comm")
_PKCSSLOTD_PIDS = ("/run/pkcsslotd.pid", "/var/run/pkcsslotd.pid")


@attrs.frozen
class Check:
    """One finding: what was checked (``name``), how it went, what it means and the fix."""

    name: str
    status: Status
    message: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status, "message": self.message, "fix": self.fix}


def run_checks(
    settings: Settings,
    *,
    portal_url: str | None,
    ca_bundle: str | None,
    now: datetime,
    serial: str | None = None,
    label: str | None = None,
    personal: bool = True,
) -> list[Check]:
    """Every check, in order, for every card or the one with this serial/label. Nothing raises
    for a problem found: it becomes a :class:`Check`. With ``personal=False`` (the report for a
    help desk) a card is named by its label and serial, never by its holder."""
    lang = settings.lang
    checks: list[Check] = []
    module = _module_check(settings, checks)
    if module is not None:
        checks.append(_service_check(module.path, lang))
    from kamusm._cli._readers import reader_checks  # noqa: PLC0415 (pyscard only if installed)

    checks.extend(reader_checks(lang, None if module is None else module.path))
    if module is not None:
        checks.extend(
            _card_checks(module, lang, now, serial=serial, label=label, personal=personal)
        )
    checks.append(_portal_check(portal_url, ca_bundle, lang))
    return checks


def _module_check(settings: Settings, checks: list[Check]) -> Pkcs11Module | None:
    from kamusm.token import Pkcs11Module  # noqa: PLC0415

    lang = settings.lang
    try:
        module = Pkcs11Module.open(settings.module)
    except Pkcs11ModuleNotFoundError as err:
        fix = text("cli.doctor.module.fix", lang)
        checks.append(Check("module", "fail", err.message(lang), fix))
        return None
    message = text("cli.doctor.module.ok", lang, path=module.path, description=module.description)
    checks.append(Check("module", "ok", message))
    return module


def _process_alive(pid_files: tuple[str, ...], name: str) -> bool:
    for pid_file in pid_files:
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == name:
                    return True
        except (OSError, ValueError):
            continue
    return False


def _service_check(path: str, lang: Language) -> Check:
    """The service between the module and the card, where one applies (Linux)."""
    lowered = os.path.basename(path).lower()
    if not sys.platform.startswith("linux") or "softhsm" in lowered:
        return Check("service", "skip", text("cli.doctor.service.skip", lang))
    if "opencryptoki" in lowered:
        service, running = "pkcsslotd", _process_alive(_PKCSSLOTD_PIDS, "pkcsslotd")
    else:  # a smart-card driver such as AKİS talks to the reader through pcscd
        service, running = "pcscd", any(os.path.exists(s) for s in _PCSCD_SOCKETS)
    if running:
        return Check("service", "ok", text("cli.doctor.service.ok", lang, service=service))
    return Check(
        "service",
        "fail",
        text("cli.doctor.service.fail", lang, service=service),
        text(f"cli.doctor.service.fix.{service}", lang),
    )


def _card_checks(
    module: Pkcs11Module,
    lang: Language,
    now: datetime,
    *,
    serial: str | None,
    label: str | None,
    personal: bool = True,
) -> Iterator[Check]:
    try:
        cards = read_cards(module, serial=serial, label=label)
        if not personal:
            cards = [_Unnamed(c.info, c.certificates, c.unreadable, c.problem) for c in cards]
    except TokenError as err:
        yield Check("card", "fail", err.message(lang), text("cli.doctor.card.fix", lang))
        return
    if not cards:
        yield Check(
            "card",
            "fail",
            text("token.not_found", lang),
            text("cli.doctor.card.fix", lang),
        )
        return
    yield Check(
        "card", "ok", text(one_or_many("cli.doctor.card.ok", len(cards)), lang, count=len(cards))
    )
    for card in cards:
        yield _busy_check(card, lang)
        yield _pin_check(card, lang)
        if card.problem is None:
            yield from _certificate_checks(card, lang, now)
            yield _signing_check(card, lang)


class _Unnamed(CardRead):
    """A card named by its label and serial, not by its holder."""

    __slots__ = ()

    def name(self, lang: Language) -> str:
        return text("cli.card", lang, label=self.info.label, serial=self.info.serial)


def _busy_check(card: CardRead, lang: Language) -> Check:
    name = f"busy:{card.info.serial}"
    if card.problem is None:
        return Check(name, "ok", text("cli.doctor.busy.ok", lang, card=card.name(lang)))
    fix = text("cli.doctor.busy.fix", lang) if isinstance(card.problem, TokenBusyError) else None
    return Check(name, "fail", f"{card.name(lang)}: {card.problem.message(lang)}", fix)


def _pin_check(card: CardRead, lang: Language) -> Check:
    name, label = f"pin:{card.info.serial}", card.name(lang)
    state = card.info.pin_status.summary
    if state == "ok":
        return Check(name, "ok", text("cli.doctor.pin.ok", lang, card=label))
    status: Status = "warn" if state == "count_low" else "fail"
    return Check(
        name,
        status,
        text(f"cli.doctor.pin.{state}", lang, card=label),
        text(f"cli.doctor.pin.{state}.fix", lang),
    )


def _certificate_checks(card: CardRead, lang: Language, now: datetime) -> Iterator[Check]:
    name, label = f"certificates:{card.info.serial}", card.name(lang)
    own = [c for c in card.certificates if not c.is_ca]
    if not own:
        yield Check(
            name,
            "warn",
            text("cli.doctor.certs.none", lang, card=label),
            text("cli.doctor.certs.none.fix", lang),
        )
        return
    fix = text("cli.doctor.certs.renew.fix", lang)
    found = False
    for cert in sorted(own, key=lambda c: c.not_after):
        days, expiry = cert.days_left(now), date_text(cert.not_after, lang)
        kind = cert.kind.display(lang)
        if now > cert.not_after:
            message = text("cli.doctor.certs.expired", lang, card=label, kind=kind, expiry=expiry)
            yield Check(name, "fail", message, fix)
            found = True
        elif days <= EXPIRY_WARNING_DAYS:
            message = text(
                "cli.doctor.certs.expiring", lang, card=label, kind=kind, days=days, expiry=expiry
            )
            yield Check(name, "warn", message, fix)
            found = True
    if not found:
        first = min(own, key=lambda c: c.not_after)
        message = text(
            "cli.doctor.certs.ok",
            lang,
            card=label,
            expiry=date_text(first.not_after, lang),
            days=first.days_left(now),
        )
        yield Check(name, "ok", message)


def _signing_check(card: CardRead, lang: Language) -> Check:
    """The readiness check of :mod:`kamusm.readiness`: may a DYS ask for the PIN and sign."""
    ready = card.readiness
    name = f"signing:{card.info.serial}"
    if ready is None:  # pragma: no cover - only cards whose certificates were read get here
        return Check(name, "skip", "-")
    from kamusm.readiness import ReadinessState  # noqa: PLC0415

    status: Status = "ok"
    if not ready.can_sign:
        status = "fail"
    elif ready.state is not ReadinessState.READY:
        status = "warn"
    # The ready text names the certificate's holder: the card's own name says enough here.
    said = ready.state.short(lang) if ready.state is ReadinessState.READY else ready.message(lang)
    message = f"{card.name(lang)}: {said}"
    return Check(name, status, message, None if status == "ok" else ready.next_step(lang))


def _portal_check(url: str | None, ca_bundle: str | None, lang: Language) -> Check:
    if not url:
        return Check("portal", "skip", text("cli.doctor.portal.skip", lang))
    from kamusm.portal import PortalClient  # noqa: PLC0415 (httpx only when asked)

    try:
        with PortalClient(url, verify=ca_bundle or True, timeout=5.0, retries=0) as portal:
            portal.login_methods()
    except InputError:
        return Check("portal", "fail", text("cli.portal_url_invalid", lang))
    except PortalTlsError as err:
        return Check("portal", "fail", err.message(lang), text("cli.doctor.portal.tls.fix", lang))
    except PortalError as err:
        return Check("portal", "fail", err.message(lang), text("cli.doctor.portal.fix", lang))
    return Check("portal", "ok", text("cli.doctor.portal.ok", lang, url=url))
