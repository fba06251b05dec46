"""Certificates through a real SoftHSM2 token: written by the test factory, read back by
``kamusm.token.Token.certificates()`` into ``kamusm.certs.CertificateInfo``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from kamusm.certs import CardSummary, CertificateInfo, CertificateKind, signing_certificate
from kamusm.errors import CertificateParseError
from kamusm.testing import softhsm
from kamusm.testing.certificates import (
    DEFAULT_HOLDER,
    DEFAULT_TCKN,
    DEFAULT_VKN,
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
    write_certificates,
)
from kamusm.values import Product

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

MakeToken = Callable[..., softhsm.SoftHsmToken]


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory(now=NOW)


@pytest.fixture
def make_token() -> MakeToken:
    if softhsm.find_softhsm_module() is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    return softhsm.create_softhsm_token


def by_label(infos: list[CertificateInfo]) -> dict[str | None, CertificateInfo]:
    return {i.label: i for i in infos}


def test_nes_card_round_trip(factory: CertificateFactory, make_token: MakeToken) -> None:
    """What the factory writes comes back byte for byte, with label and id, fully read."""
    nes = factory.nes()
    written = [nes, *factory.ca_certificates]
    card = make_token(certificates=[c.as_token_object() for c in written])
    infos = card.token().certificates()

    assert len(infos) == len(written)
    read = by_label(infos)
    for issued in written:
        info = read[issued.label]
        assert info.der == issued.der
        assert info.object_id == issued.object_id
        assert info == CertificateInfo.from_der(
            issued.der, label=issued.label, object_id=issued.object_id
        )
    nes_info = read[f"{DEFAULT_TCKN}NES0"]
    assert nes_info.kind is CertificateKind.NES
    assert nes_info.holder_name == DEFAULT_HOLDER
    assert nes_info.is_qualified

    summary = CardSummary.from_certificates(infos)
    assert summary.holder_name == DEFAULT_HOLDER
    assert summary.masked_tckn == "100******46"
    assert summary.products == (Product.NES,)
    assert summary.expires_at == nes.not_after
    assert signing_certificate(infos, NOW) == nes_info


def test_mali_muhur_card_round_trip(factory: CertificateFactory, make_token: MakeToken) -> None:
    written = factory.mali_muhur_card()
    card = make_token(certificates=[c.as_token_object() for c in written])
    read = by_label(card.token().certificates())
    assert set(read) == {f"{DEFAULT_VKN}SIGN0", f"{DEFAULT_VKN}ENCR0"}
    assert read[f"{DEFAULT_VKN}SIGN0"].kind is CertificateKind.MALI_MUHUR_SIGNING
    assert read[f"{DEFAULT_VKN}ENCR0"].kind is CertificateKind.MALI_MUHUR_ENCRYPTION
    chosen = signing_certificate(list(read.values()), NOW, product=Product.MALI_MUHUR)
    assert chosen is not None
    assert chosen.label == f"{DEFAULT_VKN}SIGN0"


def test_same_cn_certificates_on_one_token_are_told_apart(
    factory: CertificateFactory, make_token: MakeToken
) -> None:
    """A renewed NES, a test certificate and an authentication certificate share the CN."""
    renewed_start = NOW - timedelta(days=1)
    written: list[IssuedCertificate] = [
        factory.nes(),
        factory.nes(index=1, not_before=renewed_start),
        factory.test_certificate(key=KeySpec.EC_P384),
        factory.other(),
    ]
    card = make_token(certificates=[c.as_token_object() for c in written])
    infos = card.token().certificates()

    assert {i.common_name for i in infos} == {DEFAULT_HOLDER}
    assert len({(i.serial_number, i.kind) for i in infos}) == 4
    assert len({i.object_id for i in infos}) == 4
    assert len({i.describe() for i in infos}) == 4
    assert sorted(i.kind.name for i in infos) == ["NES", "NES", "OTHER", "TEST"]
    chosen = signing_certificate(infos, NOW)
    assert chosen is not None
    assert chosen.label == f"{DEFAULT_TCKN}NES1"
    assert chosen.not_before == renewed_start


def test_write_certificates_onto_an_existing_token(
    factory: CertificateFactory, make_token: MakeToken
) -> None:
    card = make_token()
    assert card.token().certificates() == []
    seal = factory.qualified_seal()
    count = write_certificates(card, [seal, factory.nes().as_token_object()])
    assert count == 2
    kinds = {i.label: i.kind for i in card.token().certificates()}
    assert kinds == {
        seal.label: CertificateKind.QUALIFIED_SEAL,
        f"{DEFAULT_TCKN}NES0": CertificateKind.NES,
    }


def test_a_damaged_certificate_on_a_token_is_a_parse_error(
    factory: CertificateFactory, make_token: MakeToken
) -> None:
    der = factory.nes().der
    card = make_token(certificates=[(der[: len(der) // 2], f"{DEFAULT_TCKN}NES0", b"\x01")])
    objects = card.token().certificate_objects()
    assert [o.label for o in objects] == [f"{DEFAULT_TCKN}NES0"]
    with pytest.raises(CertificateParseError):
        card.token().certificates()
