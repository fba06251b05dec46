"""What the guards of signing cost, against the bare dependency measured in the same run, on one
SoftHSM2 token whose RSA 2048 key was made on the token.

Three comparisons, each printed as a ratio (kamusm / bare):

- *sign_pdf*: one PDF signed per login, as a DYS signs a document. kamusm:
  ``Token.signing_session`` (fresh PIN state, readiness, final-try rule, login by ctypes, key
  by CKA_ID) + :func:`kamusm.signing.sign_pdf`; bare: pyHanko's own PKCS#11 signer
  (``open_pkcs11_session`` with the PIN, ``PKCS11Signer`` by key id, ``signers.sign_pdf``) on
  the same key, PDF and token. Target: at most 1.05.
- *readiness*: ``Token.readiness()`` (one C_GetTokenInfo; the certificates were read once and
  are kept for the card) against a bare token-info read (python-pkcs11 ``slot.get_token()``,
  which is one C_GetTokenInfo). Target: within 1 ms; the difference is printed.
- *sign*: ``SigningSession.sign`` (hash in Python, ``CKM_RSA_PKCS`` over the DigestInfo, the lock
  per call) against python-pkcs11's ``key.sign`` with ``CKM_SHA256_RSA_PKCS`` in an open
  session. Target: at most 1.1.

How it is measured: many rounds; in each the two take turns (kamusm first in even rounds, the
bare call first in odd ones), each timing a batch of calls long enough to dwarf the clock, and
the round's ratio is kamusm's time over the bare time of the same round, so a busy moment of
the machine falls on both. Printed per comparison: the median time per call of each, the
median of the round ratios with a 95 % confidence interval of that median (order statistics,
no assumption on the distribution) and the ratios' interquartile range; for readiness also the
median difference with its interval. The load average is printed before and after. Nothing is
asserted: a busy machine moves the figures, the intervals say how much.

``--profile`` prints where the kamusm *sign_pdf* path spends its time (cProfile, cumulative),
the pyHanko path's alongside, instead of the comparisons.

Run: ``.venv/bin/python benchmarks/bench_signing.py [--rounds 61] [--batch-seconds 0.1]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import attrs
import pkcs11
from asn1crypto import x509 as asn1_x509
from pkcs11 import Mechanism, ObjectClass
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from kamusm import _token_seam
from kamusm.signing import sign_pdf
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import create_softhsm_token

DATA = b"x" * 4096


@attrs.frozen
class Comparison:
    """Per-call seconds of each side in every round, in the order the rounds ran."""

    kamusm: tuple[float, ...]
    bare: tuple[float, ...]

    @property
    def ratios(self) -> list[float]:
        return [k / b for k, b in zip(self.kamusm, self.bare, strict=True)]

    @property
    def differences(self) -> list[float]:
        return [k - b for k, b in zip(self.kamusm, self.bare, strict=True)]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: the order statistics
    ``x(j) .. x(n+1-j)`` with the largest ``j`` whose binomial coverage is still at least
    ``confidence``."""
    ordered = sorted(values)
    n = len(ordered)
    best = 0
    for j in range(1, n // 2 + 1):
        below = sum(math.comb(n, i) for i in range(j)) / 2**n  # P(fewer than j below)
        if 1 - 2 * below >= confidence:
            best = j
        else:
            break
    if best == 0:
        return ordered[0], ordered[-1]
    return ordered[best - 1], ordered[n - best]


def quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def batch_size(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds`` (at least one)."""
    fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds / 4:
        fn()
        n += 1
    return max(1, round(n * seconds / max(elapsed, 1e-9)))


def timed(fn: Callable[[], object], loops: int) -> float:
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def compare(
    kamusm: Callable[[], object], bare: Callable[[], object], *, rounds: int, seconds: float
) -> Comparison:
    """``rounds`` rounds of both, taking turns and alternating which goes first."""
    kamusm()
    bare()  # warm up (caches, the first login, imports)
    loops = max(batch_size(kamusm, seconds), batch_size(bare, seconds))
    k_times: list[float] = []
    b_times: list[float] = []
    for index in range(rounds):
        if index % 2 == 0:
            k_times.append(timed(kamusm, loops))
            b_times.append(timed(bare, loops))
        else:
            b_times.append(timed(bare, loops))
            k_times.append(timed(kamusm, loops))
    return Comparison(tuple(k_times), tuple(b_times))


def report(name: str, bare_name: str, result: Comparison, *, unit: float, target: str) -> None:
    scale, label = (1e3, "ms") if unit >= 1e-3 else (1e6, "µs")
    k, b = statistics.median(result.kamusm), statistics.median(result.bare)
    ratios = result.ratios
    low, high = median_interval(ratios)
    q1, q3 = quartiles(ratios)
    print(f"{name:<10} kamusm {k * scale:9.3f} {label}   {bare_name:<22} {b * scale:9.3f} {label}")
    print(
        f"{'':<10} ratio median {statistics.median(ratios):.3f}  95% CI [{low:.3f}, {high:.3f}]"
        f"  IQR [{q1:.3f}, {q3:.3f}]  ({len(ratios)} rounds; target {target})"
    )


def report_difference(result: Comparison) -> None:
    differences = result.differences
    low, high = median_interval(differences)
    print(
        f"{'':<10} difference median {statistics.median(differences) * 1e3:.4f} ms  "
        f"95% CI [{low * 1e3:.4f}, {high * 1e3:.4f}] ms"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def profile(fn: Callable[[], object], title: str, calls: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(25)
    print(f"---- {title}: {calls} calls, by own time ----")
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=61, help="interleaved rounds (odd)")
    parser.add_argument(
        "--batch-seconds", type=float, default=0.1, help="about how long one side's batch runs"
    )
    parser.add_argument("--profile", action="store_true", help="profile the sign_pdf paths")
    args = parser.parse_args()

    factory = CertificateFactory()
    card = create_softhsm_token()
    issued = certify_on_token(card, factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    pin = card.pin
    pdf = sample_pdf("bench")
    chain = [factory.nes_ca.der, factory.root.der]
    lib_path = os.path.realpath(card.module_path)

    def kamusm_pdf() -> bytes:
        with token.signing_session(pin) as session:
            return sign_pdf(session, pdf, ca_certificates=chain)

    ca_chain = [asn1_x509.Certificate.load(der) for der in chain]

    def pyhanko_pdf() -> bytes:
        with _token_seam.lock():  # the same process-wide lock, so both meet the same token
            session = open_pkcs11_session(
                lib_path, slot_no=token.slot_id, user_pin=card.pin.reveal()
            )
        try:
            signer = PKCS11Signer(
                session,
                key_id=issued.object_id,
                cert_id=issued.object_id,
                ca_chain=ca_chain,
            )
            meta = signers.PdfSignatureMetadata(
                field_name="Imza1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
            )
            out = io.BytesIO()
            signers.sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out
            )
            return out.getvalue()
        finally:
            session.close()

    lib = pkcs11.lib(lib_path)
    slot = next(s for s in lib.get_slots() if s.slot_id == token.slot_id)

    def bare_info() -> object:
        return slot.get_token().flags

    token.readiness()  # the certificates are read once per card

    if args.profile:
        kamusm_pdf()
        pyhanko_pdf()
        profile(kamusm_pdf, "kamusm signing_session + sign_pdf", 100)
        profile(pyhanko_pdf, "pyHanko open_pkcs11_session + PKCS11Signer + sign_pdf", 100)
        return

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(
        f"kamusm signing benchmark on {python}, pyHanko {version('pyhanko')}, "
        f"python-pkcs11 {version('python-pkcs11')}, SoftHSM2, RSA 2048 made on the token"
    )
    print(f"before: {load()}")
    seconds = args.batch_seconds

    pdfs = compare(kamusm_pdf, pyhanko_pdf, rounds=args.rounds, seconds=seconds)
    report("sign_pdf", "pyHanko PKCS11Signer", pdfs, unit=1e-3, target="<= 1.05")

    ready = compare(token.readiness, bare_info, rounds=args.rounds, seconds=seconds)
    report("readiness", "bare token info", ready, unit=1e-6, target="within 1 ms")
    report_difference(ready)

    # Sessions of one process share its login: the raw session signs under kamusm's login.
    with token.signing_session(pin) as session, slot.get_token().open() as raw:
        key: Any = raw.get_key(object_class=ObjectClass.PRIVATE_KEY, id=issued.object_id)
        signs = compare(
            lambda: session.sign(DATA),
            lambda: key.sign(DATA, mechanism=Mechanism.SHA256_RSA_PKCS),
            rounds=args.rounds,
            seconds=seconds,
        )
    report("sign", "python-pkcs11 sign", signs, unit=1e-3, target="<= 1.1")
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
