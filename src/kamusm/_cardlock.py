"""The one lock shared by the two layers that reach a card: :mod:`kamusm.token` (PKCS#11) and
:mod:`kamusm.pcsc` (the reader, PC/SC).

Every PKCS#11 call holds it (python-pkcs11 and the modules it loads are not thread-safe), and
the reader probe takes it too, so a probe never runs while a PKCS#11 call is talking to the
card. Re-entrant: an operation may hold it across its status read, login and PIN call. This
module imports nothing but :mod:`threading`, so both layers can share it without importing
each other.
"""

from __future__ import annotations

import threading
from typing import Final

__all__ = ["CARD_LOCK"]

CARD_LOCK: Final = threading.RLock()
