"""A document system (DYS/EBYS) signs a PDF with the holder's card, guarded end to end.

1. Readiness (:meth:`kamusm.Token.readiness`), which needs no PIN and spends no try: a locked
   card is sent to the reset of its product (NES: "PIN Oluşturma/Kilit Çözme"; Mali Mühür:
   "Mali Mühür PIN Oluşturma/Değiştirme"), never to the PUK; a card whose certificate cannot
   sign now (expired, not yet valid, not qualified, none) is told why; on the final try the
   person must type the confirmation word; a wrong PIN seen before gives a warning.
2. The PIN, hidden (or one line of standard input with ``--pin-stdin``, which never spends a
   final try).
3. The signature: :meth:`kamusm.Token.signing_session` logs in with every guard and
   :func:`kamusm.signing.sign_pdf` makes a PAdES signature (B-T with ``--timestamp-url``).
4. A wrong PIN says how many tries are left; a PIN locked by it is routed to the reset.

A file that is no PDF is refused before the card is read or the PIN asked
(:func:`kamusm.signing.check_pdf`); a document that refuses the signature, or a timestamp
server that cannot be reached, is told in both languages and nothing is written.

Run::

    python examples/dys_sign_pdf.py letter.pdf letter-signed.pdf --module /usr/lib/libakisp11.so
    python examples/dys_sign_pdf.py in.pdf out.pdf --serial 1A2B3C4D --lang en --pin-stdin

Exit status: 0 signed, 1 the card or module could not be used, 2 bad input, 3 PIN locked
(reset it), 4 final try not agreed to, 5 the card cannot sign now, 6 wrong PIN, 7 nothing
signed (the document refused the signature, or the timestamp server could not be reached).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from kamusm import (
    FinalTryNotAcknowledgedError,
    KamusmError,
    Language,
    NextAction,
    NotAPdfError,
    NotReadyToSignError,
    PdfSigningError,
    Pin,
    PinIncorrectError,
    PinLockedError,
    Pkcs11Module,
    Product,
    TimestampServerError,
    Token,
)
from kamusm.signing import check_pdf, sign_pdf

EXIT_SIGNED: Final = 0
EXIT_CARD_PROBLEM: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_LOCKED: Final = 3
EXIT_FINAL_TRY: Final = 4
EXIT_CANNOT_SIGN: Final = 5
EXIT_WRONG_PIN: Final = 6
EXIT_NOT_SIGNED: Final = 7

CONFIRM: Final[dict[Language, str]] = {"tr": "EVET", "en": "YES"}
ASK_CONFIRM: Final[dict[Language, str]] = {
    "tr": "Son deneme hakkı. Devam etmek için {word} yazın: ",
    "en": "Final try. Type {word} to go on: ",
}


def _say_error(out: TextIO, err: KamusmError) -> None:
    """A refusal in both languages: the holder reads Turkish, the DYS's developers English."""
    print(f"  tr: {err.message('tr')}", file=out)
    print(f"  en: {err.message('en')}", file=out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Sign a PDF with a Kamu SM card, as a DYS would.")
    parser.add_argument("source", help="the PDF to sign")
    parser.add_argument("target", help="where the signed PDF is written")
    parser.add_argument("--module", help="PKCS#11 module (default: KAMUSM_PKCS11_MODULE, AKİS)")
    parser.add_argument("--serial", help="the card's serial (needed when several are inserted)")
    parser.add_argument("--label", help="the card's token label")
    parser.add_argument(
        "--product",
        choices=[p.value.replace("_", "-") for p in Product],
        help="sign as this product (spelled as kamusm's command line spells it)",
    )
    parser.add_argument("--timestamp-url", help="an RFC 3161 timestamp server (PAdES B-T)")
    parser.add_argument("--lang", choices=["tr", "en"], default="tr")
    parser.add_argument("--pin-stdin", action="store_true", help="one line of standard input")
    return parser


def sign_document(  # noqa: PLR0911 (one return per exit status of the table above)
    token: Token,
    document: bytes,
    *,
    pin_source: TextIO | None,
    out: TextIO,
    lang: Language,
    product: Product | None = None,
    timestamp_url: str | None = None,
) -> tuple[int, bytes | None]:
    """Readiness, PIN, signature; returns the exit status and the signed PDF (or ``None``).
    ``pin_source`` is a stream with the PIN on one line, or ``None`` to ask without echo."""
    ready = token.readiness(product=product)
    print(ready.message(lang), file=out)
    if ready.action is NextAction.RESET_PIN:
        print(ready.next_step(lang), file=out)
        return EXIT_LOCKED, None
    if not ready.may_sign_after_acknowledgement:
        print(ready.next_step(lang), file=out)
        return EXIT_CANNOT_SIGN, None
    agreed = False
    if ready.needs_acknowledgement:
        if pin_source is not None:  # a script never spends the last try
            _say_error(out, FinalTryNotAcknowledgedError())
            return EXIT_FINAL_TRY, None
        agreed = input(ASK_CONFIRM[lang].format(word=CONFIRM[lang])).strip() == CONFIRM[lang]
        if not agreed:
            return EXIT_FINAL_TRY, None
    try:
        typed = pin_source.readline().rstrip("\r\n") if pin_source else getpass.getpass("PIN: ")
        pin = Pin(typed)
    except KamusmError as err:
        _say_error(out, err)
        return EXIT_BAD_INPUT, None
    try:
        with token.signing_session(pin, product=product, acknowledge_final_try=agreed) as session:
            signed = sign_pdf(session, document, timestamp_url=timestamp_url)
    except PinIncorrectError as err:
        _say_error(out, err)  # says how many tries are left, or that the card is now locked
        if err.status is not None and err.status.locked:
            print(token.readiness(product=product).next_step(lang), file=out)
            return EXIT_LOCKED, None
        return EXIT_WRONG_PIN, None
    except PinLockedError as err:
        _say_error(out, err)
        return EXIT_LOCKED, None
    except FinalTryNotAcknowledgedError as err:  # the state changed since it was read
        _say_error(out, err)
        return EXIT_FINAL_TRY, None
    except NotReadyToSignError as err:
        _say_error(out, err)
        return EXIT_CANNOT_SIGN, None
    except (PdfSigningError, TimestampServerError) as err:
        _say_error(out, err)
        return EXIT_NOT_SIGNED, None
    return EXIT_SIGNED, signed


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    """Sign; return the exit status (see the module docstring)."""
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    lang: Language = args.lang
    try:
        document = Path(args.source).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.source}: {exc.strerror}", file=out)
        return EXIT_BAD_INPUT
    try:
        check_pdf(document)  # before the card is read and the PIN asked
    except NotAPdfError as err:
        _say_error(out, err)
        return EXIT_BAD_INPUT
    try:
        token = Pkcs11Module.open(args.module).token(serial=args.serial, label=args.label)
        status, signed = sign_document(
            token,
            document,
            pin_source=(stdin if stdin is not None else sys.stdin) if args.pin_stdin else None,
            out=out,
            lang=lang,
            product=Product(args.product.replace("-", "_")) if args.product else None,
            timestamp_url=args.timestamp_url,
        )
    except KamusmError as err:
        print("The card could not be used:", file=out)
        _say_error(out, err)
        return EXIT_CARD_PROBLEM
    if signed is not None:
        Path(args.target).write_bytes(signed)
        print(f"signed: {args.target}", file=out)
    return status


if __name__ == "__main__":
    sys.exit(main())
