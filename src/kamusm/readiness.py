"""Whether a card is ready to sign, decided before anyone is asked for a PIN.

A DYS calls :meth:`kamusm.token.Token.readiness` (no login, no PIN try spent) and gets a
:class:`Readiness`: the state that matters most, every finding, the certificate that would sign,
and the :class:`NextAction` to take, each with a Turkish and an English text. This module is
pure: :func:`assess` decides from the PIN state, the certificates and the time, so a DYS that
reads them itself gets the same answer.

What is found, most pressing first::

    LOCKED                   the PIN is locked            -> RESET_PIN (the card's product)
    PIN_NOT_INITIALIZED      no PIN yet                   -> RESET_PIN (PIN Oluşturma)
    NO_SIGNING_CERTIFICATE   nothing on the card signs    -> USE_ANOTHER_CARD
    EXPIRED                  the signing certificate ended -> RENEW_CERTIFICATE
    NOT_YET_VALID            it begins later              -> WAIT_UNTIL_VALID
    NOT_QUALIFIED            it signs, but not qualified  -> USE_ANOTHER_CARD
    FINAL_TRY                one wrong PIN locks the card -> ACKNOWLEDGE_FINAL_TRY
    WRONG_PIN_SEEN           a wrong PIN was typed before -> ASK_PIN_CAREFULLY
    EXPIRING                 ends within N days           -> RENEW_SOON (signing still works)
    READY                                                 -> ASK_PIN
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Final

import attrs

from kamusm.messages import DEFAULT_LANGUAGE, Language, format_date, text
from kamusm.values import PinStatus, Product

if TYPE_CHECKING:
    from kamusm.certs import CertificateInfo

__all__ = [
    "DEFAULT_EXPIRY_WARNING_DAYS",
    "NextAction",
    "Readiness",
    "ReadinessState",
    "assess",
]

#: A signing certificate that ends within this many days is reported as expiring.
DEFAULT_EXPIRY_WARNING_DAYS: Final = 30


class ReadinessState(enum.Enum):
    """One finding about a card, in order of how much it matters (first is worst)."""

    LOCKED = "locked"
    PIN_NOT_INITIALIZED = "pin_not_initialized"
    NO_SIGNING_CERTIFICATE = "no_signing_certificate"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_QUALIFIED = "not_qualified"
    FINAL_TRY = "final_try"
    WRONG_PIN_SEEN = "wrong_pin_seen"
    EXPIRING = "expiring"
    READY = "ready"

    def message(self, lang: Language = DEFAULT_LANGUAGE, **fields: object) -> str:
        return text(f"readiness.{self.value}", lang, **fields)

    def short(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """A few words for a table cell ("hazır", "PIN kilitli")."""
        return text(f"readiness.short.{self.value}", lang)


class NextAction(enum.Enum):
    """What the DYS does next."""

    ASK_PIN = "ask_pin"
    """Ask for the PIN and sign."""
    ASK_PIN_CAREFULLY = "ask_pin_carefully"
    """Ask for the PIN, warning that a wrong PIN was seen (tries are fewer)."""
    ACKNOWLEDGE_FINAL_TRY = "acknowledge_final_try"
    """Ask the person to agree to spend the final try, then the PIN (``acknowledge_final_try``)."""
    RESET_PIN = "reset_pin"
    """Ask for no PIN: send the holder to the PIN reset of :attr:`Readiness.product`."""
    RENEW_CERTIFICATE = "renew_certificate"
    WAIT_UNTIL_VALID = "wait_until_valid"
    USE_ANOTHER_CARD = "use_another_card"
    RENEW_SOON = "renew_soon"
    """Signing works; the certificate should be renewed before it ends."""


_ORDER: Final = {state: i for i, state in enumerate(ReadinessState)}
_ACTIONS: Final[Mapping[ReadinessState, NextAction]] = {
    ReadinessState.LOCKED: NextAction.RESET_PIN,
    ReadinessState.PIN_NOT_INITIALIZED: NextAction.RESET_PIN,
    ReadinessState.NO_SIGNING_CERTIFICATE: NextAction.USE_ANOTHER_CARD,
    ReadinessState.EXPIRED: NextAction.RENEW_CERTIFICATE,
    ReadinessState.NOT_YET_VALID: NextAction.WAIT_UNTIL_VALID,
    ReadinessState.NOT_QUALIFIED: NextAction.USE_ANOTHER_CARD,
    ReadinessState.FINAL_TRY: NextAction.ACKNOWLEDGE_FINAL_TRY,
    ReadinessState.WRONG_PIN_SEEN: NextAction.ASK_PIN_CAREFULLY,
    ReadinessState.EXPIRING: NextAction.RENEW_SOON,
    ReadinessState.READY: NextAction.ASK_PIN,
}
# Findings after which a signature may be attempted (the final try only with agreement).
_MAY_SIGN: Final = frozenset(
    {
        ReadinessState.READY,
        ReadinessState.EXPIRING,
        ReadinessState.WRONG_PIN_SEEN,
        ReadinessState.FINAL_TRY,
    }
)


@attrs.frozen(kw_only=True)
class Readiness:
    """The answer to "may this card sign now?", found without a login.

    :attr:`state` is the most pressing of :attr:`findings` (which are sorted, worst first, and
    hold :attr:`ReadinessState.READY` alone when nothing is wrong).
    """

    findings: tuple[ReadinessState, ...]
    pin_status: PinStatus
    certificate: CertificateInfo | None = attrs.field(repr=False, eq=False)
    """The certificate that would sign (or the one a finding is about); ``None`` if none."""
    product: Product | None
    """The card's product, for the reset route of a locked card."""
    days_left: int | None
    """Whole days until :attr:`certificate` ends (negative once expired)."""

    @property
    def state(self) -> ReadinessState:
        return self.findings[0]

    @property
    def action(self) -> NextAction:
        """What to do next, for :attr:`state`."""
        return _ACTIONS[self.state]

    @property
    def can_sign(self) -> bool:
        """Whether a signature may be attempted now without anyone's agreement."""
        return self.may_sign_after_acknowledgement and not self.needs_acknowledgement

    @property
    def needs_acknowledgement(self) -> bool:
        """The PIN is on its final try: the person must agree before it is asked."""
        return ReadinessState.FINAL_TRY in self.findings

    @property
    def may_sign_after_acknowledgement(self) -> bool:
        """Nothing but (possibly) the final try stands in the way of a signature."""
        return all(f in _MAY_SIGN for f in self.findings)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """Every finding, worst first, in one text for the person at the card."""
        return " ".join(self._finding_text(f, lang) for f in self.findings)

    def as_json(self, lang: Language = DEFAULT_LANGUAGE) -> dict[str, object]:
        """Plain data for a JSON answer (nothing in it is secret)."""
        return {
            "state": self.state.value,
            "findings": [f.value for f in self.findings],
            "action": self.action.value,
            "can_sign": self.can_sign,
            "needs_acknowledgement": self.needs_acknowledgement,
            "message": self.message(lang),
            "next_step": self.next_step(lang),
        }

    def next_step(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """What to do next, as a sentence."""
        action = self.action
        if action is NextAction.RESET_PIN:
            product = self.product or Product.NES
            return text(f"next.reset_pin.{product.value}", lang)
        return text(f"next.{action.value}", lang)

    def _finding_text(self, finding: ReadinessState, lang: Language) -> str:
        cert = self.certificate
        # Every field a template may name, so a readiness made by hand never fails to render.
        fields: dict[str, object] = {"certificate": "-", "date": "-", "days": self.days_left}
        if cert is not None:
            fields["certificate"] = cert.describe(lang)
            start = finding is ReadinessState.NOT_YET_VALID
            moment = cert.not_before if start else cert.not_after
            fields["date"] = format_date(local_day(moment), lang)
        return finding.message(lang, **fields)


def _turkish_zone() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo  # noqa: PLC0415

        return ZoneInfo("Europe/Istanbul")
    except Exception:  # noqa: BLE001 - no tz database: Türkiye keeps UTC+3 all year since 2016
        return timezone(timedelta(hours=3), "TRT")


_TURKEY: Final = _turkish_zone()


def local_day(moment: datetime) -> date:
    """The day ``moment`` falls on in Türkiye (Europe/Istanbul): a certificate that ends at
    22:30 UTC ends on the next day there."""
    return moment.astimezone(_TURKEY).date()


def _signers(certificates: Iterable[CertificateInfo]) -> list[CertificateInfo]:
    from kamusm.certs import CertificateKind  # noqa: PLC0415 - asn1crypto only when asked

    return [
        c
        for c in certificates
        if not c.is_ca and c.can_sign and c.kind is not CertificateKind.MALI_MUHUR_ENCRYPTION
    ]


def _is_accepted(cert: CertificateInfo) -> bool:
    from kamusm.certs import CertificateKind  # noqa: PLC0415

    return cert.is_qualified or cert.kind is CertificateKind.MALI_MUHUR_SIGNING


def _pin_finding(status: PinStatus) -> ReadinessState | None:
    if status.locked:
        return ReadinessState.LOCKED
    if not status.initialized:
        return ReadinessState.PIN_NOT_INITIALIZED
    if status.final_try:
        return ReadinessState.FINAL_TRY
    if status.count_low:
        return ReadinessState.WRONG_PIN_SEEN
    return None


def _why_none_signs(
    certs: list[CertificateInfo], now: datetime, product: Product | None
) -> tuple[CertificateInfo | None, ReadinessState]:
    """No certificate may sign now: the one that comes closest, and why it cannot."""
    signers = [c for c in _signers(certs) if product is None or c.product in (product, None)]
    accepted = [c for c in signers if _is_accepted(c)]
    # A qualified certificate outside its validity says more than a plain one within it.
    if later := [c for c in accepted if c.not_before > now]:
        return min(later, key=lambda c: c.not_before), ReadinessState.NOT_YET_VALID
    if ended := [c for c in accepted if c.not_after < now]:
        return max(ended, key=lambda c: c.not_after), ReadinessState.EXPIRED
    if valid := [c for c in signers if c.is_valid_at(now)]:
        return max(valid, key=lambda c: c.not_after), ReadinessState.NOT_QUALIFIED
    return None, ReadinessState.NO_SIGNING_CERTIFICATE


def assess(
    pin_status: PinStatus,
    certificates: Iterable[CertificateInfo],
    now: datetime,
    *,
    product: Product | None = None,
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS,
) -> Readiness:
    """Decide a card's readiness from its PIN state, its certificates and the time.

    ``product`` limits the choice to that product's certificates (a Mali Mühür server asks for
    its seal). The certificate chosen is the one :func:`kamusm.certs.signing_certificate`
    would sign with; when there is none, the finding names the best certificate that signs
    but cannot now (not qualified, expired, not yet valid).
    """
    from kamusm.certs import signing_certificate  # noqa: PLC0415

    certs = list(certificates)
    findings = [f for f in (_pin_finding(pin_status),) if f is not None]
    chosen = signing_certificate(certs, now, product=product)
    if chosen is not None:
        if chosen.not_after - now < timedelta(days=expiry_warning_days):
            findings.append(ReadinessState.EXPIRING)
    else:
        chosen, finding = _why_none_signs(certs, now, product)
        findings.append(finding)
    findings.sort(key=_ORDER.__getitem__)
    card_product = product
    if card_product is None and chosen is not None:
        card_product = chosen.product
    if card_product is None:
        card_product = next((c.product for c in certs if c.product is not None), None)
    return Readiness(
        findings=tuple(findings) or (ReadinessState.READY,),
        pin_status=pin_status,
        certificate=chosen,
        product=card_product,
        # Counted in Turkish local days, so the count matches the date the text shows.
        days_left=(local_day(chosen.not_after) - local_day(now)).days if chosen else None,
    )
