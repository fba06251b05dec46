"""Thread safety: 8 threads x 300 mixed operations through kamusm on one SoftHSM2 token. Without
the process-wide lock this crashed the process and destroyed the token file here."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from kamusm.testing.softhsm import SoftHsmToken
from kamusm.values import Pin, PinStatus

THREADS = 8
OPERATIONS = 300
CERTS = [(b"\x30\x03\x02\x01\x01", "one", b"\x01"), (b"\x30\x03\x02\x01\x02", "two", b"\x02")]


def test_eight_threads_of_mixed_operations_leave_the_token_intact(
    softhsm_token_factory: Callable[..., SoftHsmToken],
) -> None:
    card = softhsm_token_factory(certificates=CERTS)
    module = card.module()
    token = module.token(serial=card.serial)
    expected_objects = sorted(token.certificate_objects(), key=lambda o: o.label)
    pin = card.pin
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    done: Counter[str] = Counter()
    done_lock = threading.Lock()

    def work(seed: int) -> None:
        local: Counter[str] = Counter()
        try:
            start.wait()
            for i in range(OPERATIONS):
                kind = (seed + i) % 6
                if kind == 0:
                    assert token.pin_status() == PinStatus(initialized=True)
                    local["status"] += 1
                elif kind == 1:
                    token.verify_pin(pin)
                    local["verify"] += 1
                elif kind == 2:
                    objects = sorted(token.certificate_objects(), key=lambda o: o.label)
                    assert objects == expected_objects
                    local["certificates"] += 1
                elif kind == 3:
                    assert card.serial in {t.serial for t in module.tokens()}
                    local["tokens"] += 1
                elif kind == 4:
                    token.change_pin(pin, pin)  # C_SetPIN to the same value: a real write
                    local["change"] += 1
                else:
                    assert module.token(serial=card.serial).label == card.label
                    local["select"] += 1
        except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
            errors.append(exc)
        with done_lock:
            done.update(local)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(done.values()) == THREADS * OPERATIONS
    assert set(done) == {"status", "verify", "certificates", "tokens", "change", "select"}
    # The token is intact: same objects, PIN works, no wrong-PIN flag.
    fresh = card.module().token(serial=card.serial)
    fresh.verify_pin(pin)
    assert sorted(fresh.certificate_objects(), key=lambda o: o.label) == expected_objects
    assert fresh.pin_status() == PinStatus(initialized=True)
    fresh.change_pin(pin, Pin("97531864"))
    fresh.verify_pin(Pin("97531864"))
