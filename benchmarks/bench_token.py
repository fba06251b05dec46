"""How fast the token layer is, against raw python-pkcs11 and ``pkcs11-tool``, on one SoftHSM2
token in one run.

Two operations:

- *list*: every token with its PIN state and the certificates on it (DER, label, id), read
  without login. kamusm: ``Pkcs11Module.tokens()`` then ``Token.certificate_objects()``; raw:
  ``lib.get_slots()``, ``slot.get_token()`` (flags), a session, ``get_objects`` and the three
  attributes in one ``get_attributes`` call each (as kamusm reads them; reading them one by
  one with ``obj[...]`` is slower); ``pkcs11-tool``: ``-L`` plus ``-O`` (two processes, as a
  script would run them).
- *change*: a PIN change, C_Login with the old PIN then C_SetPIN, back and forth between two
  PINs. kamusm: ``Token.change_pin``; raw: ``token.open(rw=True, user_pin=old)`` +
  ``set_pin`` + close.

Each figure is the median of several rounds of timed loops. The ratio kamusm / raw is the
figure to watch (target: at most 1.2). kamusm does a little more on purpose: it re-reads the
token before each operation (to notice a removed or swapped card and the PIN state) and takes
the process-wide lock.

Run: ``.venv/bin/python benchmarks/bench_token.py [--seconds 0.5] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

import pkcs11
from pkcs11 import Attribute, ObjectClass, TokenFlag

import kamusm
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token
from kamusm.token import Pkcs11Module, Token
from kamusm.values import Pin


def per_call(fn: Callable[[], object], seconds: float, rounds: int) -> float:
    """Median seconds per call over ``rounds`` loops of about ``seconds`` each."""
    fn()  # warm up
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds / 5:
        fn()
        n += 1
    loops = max(1, int(n * 5 * seconds / max(time.perf_counter() - start, 1e-9) / 5))
    results = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        results.append((time.perf_counter() - t0) / loops)
    return statistics.median(results)


def listing_cases(card: SoftHsmToken, module: Pkcs11Module) -> dict[str, Callable[[], object]]:
    """The *list* operation, three ways."""
    lib = pkcs11.lib(module.path)

    def kamusm_list() -> object:
        return [(info, Token(module, info).certificate_objects()) for info in module.tokens()]

    def raw_list() -> object:
        out = []
        for slot in lib.get_slots():
            token = slot.get_token()
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue
            with token.open() as session:
                certs = [
                    o.get_attributes([Attribute.VALUE, Attribute.LABEL, Attribute.ID])
                    for o in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
                ]
            out.append((token.label, token.serial, token.flags, certs))
        return out

    cases: dict[str, Callable[[], object]] = {
        "list, kamusm": kamusm_list,
        "list, raw python-pkcs11": raw_list,
    }
    tool = shutil.which("pkcs11-tool")
    if tool is not None:
        common = [tool, "--module", card.module_path]

        def tool_list() -> object:
            subprocess.run([*common, "-L"], check=True, capture_output=True)
            listing = [*common, "--token-label", card.label, "-O"]
            return subprocess.run(listing, check=True, capture_output=True)

        cases["list, pkcs11-tool -L + -O"] = tool_list
    return cases


def change_cases(card: SoftHsmToken, module: Pkcs11Module) -> dict[str, Callable[[], object]]:
    """The *change* operation, two ways; each call changes the PIN there and back."""
    kamusm_token = module.token(serial=card.serial)
    raw_token = pkcs11.lib(module.path).get_token(token_serial=card.serial.encode())
    first, second = card.pin.reveal(), "97531864"

    def kamusm_change() -> object:
        kamusm_token.change_pin(Pin(first), Pin(second))
        kamusm_token.change_pin(Pin(second), Pin(first))
        return None

    def raw_change() -> object:
        for old, new in ((first, second), (second, first)):
            with raw_token.open(rw=True, user_pin=old) as session:
                session.set_pin(old, new)
        return None

    return {"change, kamusm": kamusm_change, "change, raw python-pkcs11": raw_change}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    factory = CertificateFactory()
    certificates = [c.as_token_object() for c in (factory.nes(), *factory.ca_certificates)]
    card = create_softhsm_token(certificates=certificates)
    module = Pkcs11Module.open(card.module_path)

    figures = {
        name: per_call(fn, args.seconds, args.rounds)
        for name, fn in listing_cases(card, module).items()
    }
    figures |= {  # two changes per call
        name: per_call(fn, args.seconds, args.rounds) / 2
        for name, fn in change_cases(card, module).items()
    }

    print(f"kamusm {kamusm.__version__}, python-pkcs11 {pkcs11_version()}, SoftHSM2")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"one token with {len(certificates)} certificates; median of {args.rounds} rounds")
    print()
    for name, seconds in figures.items():
        print(f"  {name:<28} {seconds * 1e6:>10.1f} µs per call")
    print()
    list_ratio = figures["list, kamusm"] / figures["list, raw python-pkcs11"]
    change_ratio = figures["change, kamusm"] / figures["change, raw python-pkcs11"]
    print(f"  list   kamusm / raw python-pkcs11 = {list_ratio:.2f}  (target <= 1.2)")
    print(f"  change kamusm / raw python-pkcs11 = {change_ratio:.2f}  (target <= 1.2)")
    tool = figures.get("list, pkcs11-tool -L + -O")
    if tool is not None:
        print(f"  list   pkcs11-tool / kamusm       = {tool / figures['list, kamusm']:.1f}")
    else:
        print("  pkcs11-tool is not installed (apt-get install opensc): not measured")


def pkcs11_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("python-pkcs11")


if __name__ == "__main__":
    main()
