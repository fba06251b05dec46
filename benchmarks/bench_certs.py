"""How fast ``CertificateInfo.from_der`` reads certificates, against bare asn1crypto.

Both sides load the same DER (test-factory certificates of every kind, RSA 2048 and
ECDSA P-384, and a CA) and read the same fields: subject CN, serialNumber, O, given name and
surname, issuer CN, serial number, validity, key usage, extended key usage, policy OIDs, QC
statement OIDs, basic constraints, key algorithm, size and curve, SHA-256 fingerprint. The
bare side uses asn1crypto's own convenience properties, as an application would. The ratio
kamusm / bare is the figure to watch (target: at least 0.8).

Run: ``.venv/bin/python benchmarks/bench_certs.py [--seconds 0.5] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from asn1crypto import core, x509

import kamusm
from kamusm.certs import CertificateInfo
from kamusm.testing.certificates import CertificateFactory, KeySpec

QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"


class _QcStatement(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012 (asn1crypto fills in the specs on first use)
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class _QcStatements(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _QcStatement


def bare(der: bytes) -> tuple[Any, ...]:
    """The same facts with asn1crypto alone."""
    cert = x509.Certificate.load(der)
    subject = cert.subject.native
    issuer = cert.issuer.native
    key_usage = cert.key_usage_value
    eku = cert.extended_key_usage_value
    policies = cert.certificate_policies_value
    statements: list[str] = []
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].dotted == QC_STATEMENTS:
            parsed = _QcStatements.load(ext["extn_value"].contents)
            statements = [s["statement_id"].dotted for s in parsed]
    public_key = cert.public_key
    algorithm = public_key.algorithm
    return (
        subject.get("common_name"),
        subject.get("serial_number"),
        subject.get("organization_name"),
        subject.get("given_name"),
        subject.get("surname"),
        issuer.get("common_name"),
        cert.serial_number,
        cert.not_valid_before,
        cert.not_valid_after,
        set() if key_usage is None else key_usage.native,
        [] if eku is None else [p.dotted for p in eku],
        [] if policies is None else [p["policy_identifier"].dotted for p in policies],
        statements,
        cert.ca,
        algorithm,
        public_key.bit_size,
        public_key.curve[1] if algorithm == "ec" else None,
        cert.sha256.hex(),
    )


def ours(der: bytes) -> CertificateInfo:
    return CertificateInfo.from_der(der)


def rate(read: Callable[[bytes], object], ders: list[bytes], seconds: float) -> float:
    """Certificates read per second, over at least ``seconds``."""
    done = 0
    start = time.perf_counter()
    while True:
        for der in ders:
            read(der)
        done += len(ders)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per side")
    args = parser.parse_args()

    factory = CertificateFactory(now=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    certs = [
        factory.nes(),
        factory.nes(key=KeySpec.EC_P384),
        factory.mali_muhur_signing(),
        factory.mali_muhur_encryption(key=KeySpec.EC_P384),
        factory.qualified_seal(),
        factory.test_certificate(),
        factory.other(),
        factory.nes_ca,
    ]
    ders = [c.der for c in certs]
    for der in ders:  # both sides agree before anything is timed
        info, facts = ours(der), bare(der)
        mine = (info.common_name, info.serial_number, info.fingerprint_sha256)
        theirs = (facts[0], facts[6], facts[-1])
        if mine != theirs or sorted(info.qc_statement_oids) != sorted(facts[12]):
            raise SystemExit(f"the two readers disagree: {mine} != {theirs}")

    # Interleave the sides so that drift in machine load hits both alike.
    ours_rates: list[float] = []
    bare_rates: list[float] = []
    for _ in range(args.rounds):
        bare_rates.append(rate(bare, ders, args.seconds))
        ours_rates.append(rate(ours, ders, args.seconds))
    best_ours, best_bare = max(ours_rates), max(bare_rates)
    ratios = sorted(o / b for o, b in zip(ours_rates, bare_rates, strict=True))

    print(f"kamusm {kamusm.__version__}, Python {platform.python_version()}")
    print(f"{len(ders)} certificates ({sum(map(len, ders))} bytes), {args.rounds} rounds")
    print(f"{'bare asn1crypto':<28}{best_bare:>12,.0f} certificates/s (best round)")
    print(f"{'CertificateInfo.from_der':<28}{best_ours:>12,.0f} certificates/s (best round)")
    print(f"{'per certificate':<28}{1e6 / best_ours:>12.1f} µs (kamusm)")
    print(f"{'':<28}{1e6 / best_bare:>12.1f} µs (bare)")
    print(
        f"ratio kamusm / bare: {best_ours / best_bare:.2f} (best rounds); "
        f"per round {ratios[0]:.2f}-{ratios[-1]:.2f}; target >= 0.80"
    )


if __name__ == "__main__":
    main()
