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

Figures are medians of several rounds of timed loops, kamusm and the bare call taking turns
round by round; a busy machine moves them, the ratios less.

Run: ``.venv/bin/python benchmarks/bench_signing.py [--seconds 0.5] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

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


def paired(
    first: Callable[[], object], second: Callable[[], object], seconds: float, rounds: int
) -> tuple[float, float]:
    """Median seconds per call of each, the two taking turns round by round (so a busy moment
    of the machine falls on both alike)."""
    first()
    second()  # warm up
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds / 5:
        first()
        n += 1
    loops = max(1, int(n * 5 * seconds / max(time.perf_counter() - start, 1e-9) / 5))
    results: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, times in ((first, results[0]), (second, results[1])):
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            times.append((time.perf_counter() - t0) / loops)
    return statistics.median(results[0]), statistics.median(results[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=5)
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

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"kamusm signing benchmark on {python}, SoftHSM2, RSA 2048 made on the token")
    t_k, t_p = paired(kamusm_pdf, pyhanko_pdf, args.seconds, args.rounds)
    print(
        f"sign_pdf   kamusm {t_k * 1e3:8.2f} ms  pyHanko PKCS11Signer {t_p * 1e3:8.2f} ms  "
        f"ratio {t_k / t_p:5.2f}"
    )

    t_r, t_b = paired(token.readiness, bare_info, args.seconds, args.rounds)
    print(
        f"readiness  kamusm {t_r * 1e3:8.3f} ms  bare token info      {t_b * 1e3:8.3f} ms  "
        f"ratio {t_r / t_b:5.2f}  difference {(t_r - t_b) * 1e3:.3f} ms"
    )

    # Sessions of one process share its login: the raw session signs under kamusm's login.
    with token.signing_session(pin) as session, slot.get_token().open() as raw:
        key: Any = raw.get_key(object_class=ObjectClass.PRIVATE_KEY, id=issued.object_id)
        t_s, t_raw = paired(
            lambda: session.sign(DATA),
            lambda: key.sign(DATA, mechanism=Mechanism.SHA256_RSA_PKCS),
            args.seconds,
            args.rounds,
        )
    print(
        f"sign       kamusm {t_s * 1e3:8.3f} ms  python-pkcs11 sign   {t_raw * 1e3:8.3f} ms  "
        f"ratio {t_s / t_raw:5.2f}"
    )


if __name__ == "__main__":
    main()
