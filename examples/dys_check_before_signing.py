"""A document system (DYS/EBYS) checks the card before it asks for the PIN.

Before a signature the DYS reads the card's PIN state, which spends no PIN try, and decides:

- PIN locked: no PIN is asked; the holder is sent to the portal reset ("PIN Oluşturma/Kilit
  Çözme"), never to the PUK;
- final try: no PIN is asked either; a DYS signing screen is no place to spend the last try
  (the holder changes or resets the PIN in a tool that asks for an explicit acknowledgement);
- a wrong PIN was typed since the last correct one: a warning, then the PIN is asked;
- no valid signing certificate on the card: nothing to sign with, no PIN is asked.

Only then does it pick the signing certificate and verify the PIN, once; with ``--sign IN OUT``
the PIN is spent on the signature itself instead (:meth:`kamusm.Token.signing_session`, a
PAdES signature of the PDF ``IN`` written to ``OUT``). The PIN is read with hidden input (or one
line of standard input with ``--pin-stdin``), never from the command line.

Run::

    python examples/dys_check_before_signing.py --module /usr/lib/libakisp11.so
    python examples/dys_check_before_signing.py --serial 1A2B3C4D --lang en
    python examples/dys_check_before_signing.py --sign letter.pdf letter-signed.pdf

Exit status: 0 ready to sign, 1 the card or module could not be used, 2 bad input, 3 PIN locked
(reset it), 4 final try (not spent here), 5 no signing certificate, 6 wrong PIN.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal, TextIO

import attrs

from kamusm import (
    CertificateInfo,
    FinalTryNotAcknowledgedError,
    KamusmError,
    Language,
    Pin,
    PinIncorrectError,
    PinLockedError,
    PinStatus,
    Pkcs11Module,
    Product,
    SystemClock,
    Token,
    signing_certificate,
)

EXIT_READY: Final = 0
EXIT_CARD_PROBLEM: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_LOCKED: Final = 3
EXIT_FINAL_TRY: Final = 4
EXIT_NO_SIGNING_CERTIFICATE: Final = 5
EXIT_WRONG_PIN: Final = 6

# The DYS's own texts; the library's errors bring theirs (``err.message(lang)``).
TEXTS: Final[dict[str, dict[Language, str]]] = {
    "count_low": {
        "tr": "Uyarı: son doğru girişten bu yana hatalı PIN girildi. PIN'inizi dikkatle girin; "
        "üç hatalı giriş kartı kilitler.",
        "en": "Warning: a wrong PIN was entered since the last correct one. Type the PIN "
        "carefully; three wrong entries lock the card.",
    },
    "to_be_changed": {
        "tr": "Uyarı: kart PIN'in değiştirilmesini istiyor.",
        "en": "Warning: the card asks for its PIN to be changed.",
    },
    "route_reset": {
        "tr": "Yönlendirme: PIN sıfırlama (kamusm reset-pin ya da DYS'nin PIN sıfırlama ekranı).",
        "en": "Next: the PIN reset (kamusm reset-pin, or the DYS's PIN reset screen).",
    },
    "route_final_try": {
        "tr": "DYS son deneme hakkını kullanmaz. PIN'i onay isteyen bir araçla değiştirin "
        "(kamusm change-pin) ya da portaldan sıfırlayın.",
        "en": "The DYS does not spend the last try. Change the PIN in a tool that asks for "
        "an acknowledgement (kamusm change-pin) or reset it through the portal.",
    },
    "no_certificate": {
        "tr": "Kartta geçerli bir imza sertifikası yok; imza atılamaz. Sertifikanızın "
        "durumunu Kamu SM portalında kontrol edin.",
        "en": "The card holds no valid signing certificate; nothing can be signed. Check "
        "your certificate on the Kamu SM portal.",
    },
    "ready": {
        "tr": "PIN doğrulandı; imzaya hazır.",
        "en": "PIN verified; ready to sign.",
    },
}

Decision = Literal["ask_pin", "locked", "final_try", "no_certificate"]


@attrs.frozen
class SigningCheck:
    """What the DYS knows before it asks for the PIN: read without spending a PIN try."""

    status: PinStatus
    certificate: CertificateInfo | None
    decision: Decision
    warnings: tuple[str, ...] = ()


def check_before_signing(token: Token, *, product: Product | None = None) -> SigningCheck:
    """Read the PIN state and the certificates (no login) and decide whether to ask for the
    PIN. The state is read first: a locked card is routed away before anything else."""
    status = token.pin_status()
    if status.locked:
        return SigningCheck(status, None, "locked")
    if status.final_try:
        return SigningCheck(status, None, "final_try")
    warnings = tuple(
        key
        for key, present in (
            ("count_low", status.count_low),
            ("to_be_changed", status.to_be_changed),
        )
        if present
    )
    chosen = signing_certificate(token.certificates(), SystemClock().now(), product=product)
    if chosen is None:
        return SigningCheck(status, None, "no_certificate", warnings)
    return SigningCheck(status, chosen, "ask_pin", warnings)


def _say(out: TextIO, key: str, lang: Language) -> None:
    print(TEXTS[key][lang], file=out)


def _say_error(out: TextIO, err: KamusmError) -> None:
    """A refusal in both languages: the holder reads Turkish, the DYS's developers English."""
    print(f"  tr: {err.message('tr')}", file=out)
    print(f"  en: {err.message('en')}", file=out)


def _read_pin(from_stdin: bool, stdin: TextIO) -> Pin:
    typed = stdin.readline().rstrip("\r\n") if from_stdin else getpass.getpass("PIN: ")
    return Pin(typed)  # InvalidPinFormatError when it is not digits


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Check a Kamu SM card before asking for its PIN, as a DYS would."
    )
    parser.add_argument("--module", help="PKCS#11 module (default: KAMUSM_PKCS11_MODULE, AKİS)")
    parser.add_argument("--serial", help="the card's serial (needed when several are inserted)")
    parser.add_argument("--label", help="the card's token label")
    parser.add_argument(
        "--product", choices=[p.value for p in Product], help="sign only with this product"
    )
    parser.add_argument("--lang", choices=["tr", "en"], default="tr")
    parser.add_argument(
        "--pin-stdin", action="store_true", help="read the PIN from one line of standard input"
    )
    parser.add_argument(
        "--sign",
        nargs=2,
        metavar=("IN", "OUT"),
        help="sign the PDF IN with the card (the PIN is spent on the signature) into OUT",
    )
    return parser


def _refuse(check: SigningCheck, out: TextIO, lang: Language) -> int | None:
    """Say why the card must not be asked for its PIN and return the exit status, or give the
    warnings and return ``None``."""
    if check.decision == "locked":
        print("refused: the PIN is locked", file=out)
        _say_error(out, PinLockedError())
        _say(out, "route_reset", lang)
        return EXIT_LOCKED
    if check.decision == "final_try":
        print("refused: the next wrong PIN would lock the card", file=out)
        _say_error(out, FinalTryNotAcknowledgedError())
        _say(out, "route_final_try", lang)
        return EXIT_FINAL_TRY
    for warning in check.warnings:
        _say(out, warning, lang)
    return None


def _verify(
    token: Token,
    pin: Pin,
    out: TextIO,
    lang: Language,
    *,
    sign: Sequence[str] | None = None,
    certificate: CertificateInfo | None = None,
) -> int:
    """One PIN verification, never retried and never on an unacknowledged final try; with
    ``sign`` (IN, OUT) the PIN is spent on a real signature of the PDF IN instead."""
    try:
        # Not acknowledged: if the state changed since it was read, the token layer refuses.
        if sign is None:
            token.verify_pin(pin)
        else:
            from kamusm.signing import sign_pdf  # noqa: PLC0415 (the pdf extra, only when signing)

            document = Path(sign[0]).read_bytes()
            with token.signing_session(pin, certificate=certificate) as session:
                Path(sign[1]).write_bytes(sign_pdf(session, document))
            print(f"signed: {sign[1]}", file=out)
    except PinIncorrectError as err:
        print("refused: wrong PIN", file=out)
        _say_error(out, err)  # the text says when the next wrong PIN locks, or that it did
        return EXIT_LOCKED if err.status is not None and err.status.locked else EXIT_WRONG_PIN
    except PinLockedError as err:
        _say_error(out, err)
        return EXIT_LOCKED
    except FinalTryNotAcknowledgedError as err:
        _say_error(out, err)
        return EXIT_FINAL_TRY
    except KamusmError as err:
        _say_error(out, err)
        return EXIT_CARD_PROBLEM
    except OSError as exc:
        print(f"cannot read or write the PDF: {exc.strerror}", file=out)
        return EXIT_BAD_INPUT
    _say(out, "ready", lang)
    return EXIT_READY


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    """Run the check; return the exit status (see the module docstring)."""
    out = out if out is not None else sys.stdout
    stdin = stdin if stdin is not None else sys.stdin
    args = _parser().parse_args(argv)
    lang: Language = args.lang
    product = Product(args.product) if args.product else None
    try:
        token = Pkcs11Module.open(args.module).token(serial=args.serial, label=args.label)
        check = check_before_signing(token, product=product)
    except KamusmError as err:
        print("The card could not be read:", file=out)
        _say_error(out, err)
        return EXIT_CARD_PROBLEM

    print(f"card: {token.info.describe()} · PIN state: {check.status.summary}", file=out)
    refused = _refuse(check, out, lang)
    if refused is not None:
        return refused
    if check.certificate is None:
        _say(out, "no_certificate", lang)
        return EXIT_NO_SIGNING_CERTIFICATE
    print(f"signing certificate: {check.certificate.describe(lang)}", file=out)
    try:
        pin = _read_pin(args.pin_stdin, stdin)
    except KamusmError as err:
        _say_error(out, err)
        return EXIT_BAD_INPUT
    return _verify(token, pin, out, lang, sign=args.sign, certificate=check.certificate)


if __name__ == "__main__":
    sys.exit(main())
