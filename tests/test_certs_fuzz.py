"""Damaged certificates: truncated, flipped and spliced real DER never raises anything but
``CertificateParseError``; whatever does parse is a complete, usable ``CertificateInfo``."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamusm.certs import CardSummary, CertificateInfo, CertificateKind, signing_certificate
from kamusm.errors import CertificateParseError
from kamusm.testing.certificates import CertificateFactory, KeySpec

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """Real DER of every kind, RSA and EC, and a CA certificate."""
    f = CertificateFactory(now=NOW)
    return (
        f.nes().der,
        f.nes(key=KeySpec.EC_P384).der,
        f.mali_muhur_signing().der,
        f.mali_muhur_encryption(key=KeySpec.EC_P384).der,
        f.qualified_seal().der,
        f.test_certificate().der,
        f.other().der,
        f.nes_ca.der,
    )


def check(data: bytes) -> CertificateInfo | None:
    """Read ``data``; when it parses, use every part of the result as a caller would."""
    try:
        info = CertificateInfo.from_der(data)
    except CertificateParseError:
        return None
    assert isinstance(info.kind, CertificateKind)
    assert info.not_before.utcoffset() is not None
    assert info.not_after.utcoffset() is not None
    info.is_valid_at(NOW)
    info.days_left(NOW)
    _ = (info.product, info.is_qualified, info.can_sign, info.serial_hex, repr(info))
    info.describe("tr")
    info.describe("en")
    CardSummary.from_certificates([info]).display()
    signing_certificate([info], NOW)
    return info


seed_index = st.integers(min_value=0, max_value=len(seeds()) - 1)


@FUZZ
@given(index=seed_index, data=st.data())
def test_truncated_der_is_always_a_parse_error(index: int, data: st.DataObject) -> None:
    der = seeds()[index]
    cut = data.draw(st.integers(min_value=0, max_value=len(der) - 1))
    with pytest.raises(CertificateParseError):
        CertificateInfo.from_der(der[:cut])


@FUZZ
@given(
    index=seed_index,
    flips=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        min_size=1,
        max_size=8,
    ),
)
def test_flipped_bytes_parse_or_raise_parse_error(index: int, flips: list[tuple[int, int]]) -> None:
    der = bytearray(seeds()[index])
    for position, mask in flips:
        der[position % len(der)] ^= mask
    check(bytes(der))


@FUZZ
@given(
    target=seed_index,
    source=seed_index,
    data=st.data(),
)
def test_spliced_der_parses_or_raises_parse_error(
    target: int, source: int, data: st.DataObject
) -> None:
    """A slice of one certificate pasted over, or into, another."""
    into, donor = seeds()[target], seeds()[source]
    start = data.draw(st.integers(min_value=0, max_value=len(into)))
    end = data.draw(st.integers(min_value=start, max_value=len(into)))
    a = data.draw(st.integers(min_value=0, max_value=len(donor)))
    b = data.draw(st.integers(min_value=a, max_value=min(len(donor), a + 256)))
    check(into[:start] + donor[a:b] + into[end:])


@FUZZ
@given(index=seed_index, data=st.data())
def test_inserted_or_deleted_bytes_parse_or_raise_parse_error(
    index: int, data: st.DataObject
) -> None:
    der = seeds()[index]
    at = data.draw(st.integers(min_value=0, max_value=len(der)))
    if data.draw(st.booleans()):
        check(der[:at] + data.draw(st.binary(min_size=1, max_size=16)) + der[at:])
    else:
        length = data.draw(st.integers(min_value=1, max_value=16))
        check(der[:at] + der[at + length :])


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_in_a_certificate_wrapper_raise_parse_error(body: bytes) -> None:
    """A plausible outer SEQUENCE around junk is still not a certificate."""
    length = len(body)
    header = bytes([0x30, 0x82, length >> 8, length & 0xFF])
    assert check(header + body) is None


def test_every_single_byte_inverted() -> None:
    """Each byte of one RSA and one EC certificate inverted in turn: at most a parse error;
    what parses has another fingerprint; damage in the signature value is read through."""
    for der in seeds()[:2]:
        original = CertificateInfo.from_der(der)
        for position in range(len(der)):
            damaged = bytearray(der)
            damaged[position] ^= 0xFF
            info = check(bytes(damaged))
            if info is not None:
                assert info.fingerprint_sha256 != original.fingerprint_sha256
            if position >= len(der) - 16:
                # the signature value: not interpreted, so damage there is read through
                assert info is not None
                assert attrs.evolve(info, der=der, fingerprint_sha256="") == attrs.evolve(
                    original, fingerprint_sha256=""
                )
