"""A test RFC 3161 timestamp server on 127.0.0.1, for PAdES B-T and CAdES-T signatures in tests.

The answers come from pyHanko's own test timestamper (``DummyTimeStamper``), signed with a
timestamp authority certificate of the test CA
(:meth:`kamusm.testing.certificates.CertificateFactory.timestamp_authority`); the requests
travel over real HTTP, as they would to a real TSA. Needs the ``pdf`` and ``test`` extras.

::

    with running_tsa(factory) as url:
        signed = sign_pdf(session, pdf, timestamp_url=url)
"""

from __future__ import annotations

from kamusm._extras import require

require("pdf", "pyhanko")

import contextlib  # noqa: E402 - after the extra check
import logging  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from asn1crypto import keys, tsp, x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from pyhanko.sign.timestamps import DummyTimeStamper  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

if TYPE_CHECKING:
    from kamusm.testing.certificates import CertificateFactory

__all__ = ["running_tsa"]

logger = logging.getLogger(__name__)

_MAX_REQUEST = 64 * 1024


@contextlib.contextmanager
def running_tsa(factory: CertificateFactory) -> Iterator[str]:
    """Serve timestamps on a free port of 127.0.0.1 while the block runs; yields the URL. The
    server thread is stopped and joined when the block ends."""
    issued = factory.timestamp_authority()
    assert issued.private_key is not None  # noqa: S101 - the factory made this key
    key_der = issued.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # untyped in pyHanko
    chain.register_multiple([x509.Certificate.load(factory.nes_ca.der)])
    stamper = DummyTimeStamper(
        tsa_cert=x509.Certificate.load(issued.der),
        tsa_key=keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=chain,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            if not 0 < size <= _MAX_REQUEST:
                self.send_error(400)
                return
            try:
                request = tsp.TimeStampReq.load(self.rfile.read(size))
                answer = stamper.request_tsa_response(request).dump()
            except (ValueError, TypeError, KeyError):
                self.send_error(400)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("TSA: " + format, *args)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="kamusm-test-tsa", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    logger.debug("Test TSA at %s", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
