"""How fast ``kamusm tokens`` starts, as a whole process, against a plain python-pkcs11 script
that lists the same tokens, flags and certificates.

Scripts call ``kamusm tokens`` in loops, so the figure is the wall time of one process from
start to exit, measured with repeated :func:`subprocess.run` (hyperfine is not installed
here), the commands taking turns so that a slow moment of the machine hits them all alike.

The store: a fresh SoftHSM2 store (temporary directory) with two cards, an NES card and a Mali
Mühür card, each with its test certificates.

Commands:

- *raw python-pkcs11*: ``pkcs11.lib``, every slot, each initialised token's label, serial and
  flags, and each certificate object's value, label and id; no parsing.
- *raw + holder*: the same, and each certificate's subject read with asn1crypto (what
  ``kamusm tokens`` shows as the holder).
- ``python -m kamusm tokens``, the ``kamusm`` console script, and ``kamusm tokens --json``.
- *import floor*: ``python -c "import kamusm.token, kamusm.certs"``: what the library's import
  costs before any work; ``kamusm tokens`` cannot be faster than this.

Every command runs with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as an
installed package runs: the warm-up run writes the ``.pyc`` files.

The target: ``kamusm tokens`` within 1.3x of the raw script.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--runs 30]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.softhsm import create_softhsm_token

RAW = """
import sys
import pkcs11
from pkcs11 import Attribute, ObjectClass, TokenFlag

lib = pkcs11.lib(sys.argv[1])
for slot in lib.get_slots():
    token = slot.get_token()
    if not token.flags & TokenFlag.TOKEN_INITIALIZED:
        continue
    with token.open() as session:
        certs = [
            o.get_attributes([Attribute.VALUE, Attribute.LABEL, Attribute.ID])
            for o in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        ]
    print(token.label, token.serial, int(token.flags), [c[Attribute.LABEL] for c in certs])
"""

RAW_HOLDER = """
import sys
import pkcs11
from asn1crypto import x509
from pkcs11 import Attribute, ObjectClass, TokenFlag

lib = pkcs11.lib(sys.argv[1])
for slot in lib.get_slots():
    token = slot.get_token()
    if not token.flags & TokenFlag.TOKEN_INITIALIZED:
        continue
    with token.open() as session:
        certs = [
            o.get_attributes([Attribute.VALUE, Attribute.LABEL, Attribute.ID])
            for o in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        ]
    holders = set()
    for c in certs:
        subject = x509.Certificate.load(c[Attribute.VALUE]).subject.native
        holders.add((subject.get("common_name"), subject.get("serial_number")))
    print(token.label, token.serial, int(token.flags), sorted(holders, key=str))
"""


# Imports timed one after another in a fresh interpreter, after python-pkcs11 (which the raw
# script loads too): what kamusm adds on top of it, in order.
STEPS = (
    "attrs",
    "logging",
    "ctypes",
    "kamusm",
    "kamusm.messages",
    "kamusm.errors",
    "kamusm.values",
    "kamusm.token",
    "asn1crypto.x509",
    "kamusm.certs",
    "kamusm._cli",
    "kamusm._cli._texts",
    "kamusm._cli._common",
    "kamusm._cli._inventory",
)
BREAKDOWN = f"""
import importlib, time
import pkcs11
for name in {STEPS!r}:
    start = time.perf_counter()
    importlib.import_module(name)
    print(name, time.perf_counter() - start)
"""


def import_breakdown(env: dict[str, str], runs: int) -> dict[str, float]:
    """Median seconds each import adds, in the order of :data:`STEPS`."""
    found: dict[str, list[float]] = {name: [] for name in STEPS}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", BREAKDOWN], env=env, check=True, capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            name, seconds = line.split()
            found[name].append(float(seconds))
    return {name: statistics.median(values) for name, values in found.items()}


def make_store() -> tuple[str, str]:
    """Two cards with certificates in a fresh store; returns (module path, config path)."""
    factory = CertificateFactory()
    nes = create_softhsm_token(certificates=[c.as_token_object() for c in factory.nes_card()])
    create_softhsm_token(certificates=[c.as_token_object() for c in factory.mali_muhur_card()])
    return nes.module_path, str(nes.store.conf_path)


def measure(
    commands: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, list[float]]:
    """Wall seconds of each command, ``runs`` times, the commands taking turns."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the page cache and the .pyc files
        subprocess.run(command, env=env, check=True, capture_output=True)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    module, conf = make_store()
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    env.pop("KAMUSM_LANG", None)
    # Bytecode caching on, as in any installed package: without it (PYTHONDONTWRITEBYTECODE,
    # set on some machines) every run compiles kamusm's sources again, which the
    # pip-installed python-pkcs11 never has to, and the comparison measures the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    script = str(Path(py).with_name("kamusm"))
    with tempfile.TemporaryDirectory() as tmp:
        raw, raw_holder = Path(tmp, "raw.py"), Path(tmp, "raw_holder.py")
        raw.write_text(RAW)
        raw_holder.write_text(RAW_HOLDER)
        commands = {
            "raw python-pkcs11": [py, str(raw), module],
            "raw + holder (asn1crypto)": [py, str(raw_holder), module],
            "python -m kamusm tokens": [py, "-m", "kamusm", "tokens", "--module", module],
            "kamusm tokens (script)": [script, "tokens", "--module", module],
            "kamusm tokens --json": [script, "tokens", "--json", "--module", module],
            "import floor (token+certs)": [py, "-c", "import kamusm.token, kamusm.certs"],
            "python, nothing": [py, "-c", "pass"],
        }
        times = measure(commands, env, args.runs)

    print(f"kamusm tokens start-up, {args.runs} runs each, SoftHSM2 store with 2 cards")
    print(f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    base = statistics.median(times["raw python-pkcs11"])
    fastest = min(times["raw python-pkcs11"])
    # On a busy machine the medians drift; the fastest runs show what each command costs
    # when nothing else gets in the way, so both ratios are printed.
    header = (
        f"{'command':30} {'median ms':>10} {'p90 ms':>8} {'vs raw':>7} {'min ms':>8} {'vs raw':>7}"
    )
    print(header)
    for name, values in times.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
        print(
            f"{name:30} {median * 1000:10.1f} {p90 * 1000:8.1f} {median / base:6.2f}x"
            f" {ordered[0] * 1000:8.1f} {ordered[0] / fastest:6.2f}x"
        )
    print()
    print("what kamusm tokens imports on top of python-pkcs11 (median ms, one after another)")
    breakdown = import_breakdown(env, max(5, args.runs // 3))
    for name, seconds in breakdown.items():
        print(f"  {name:28} {seconds * 1000:6.2f}")
    print(f"  {'total':28} {sum(breakdown.values()) * 1000:6.2f}")


if __name__ == "__main__":
    main()
