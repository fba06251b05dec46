"""What a card holder reads: every refusal explained in Turkish and English, never a code.

Every error class and every error code (with every conflict reason) the sandbox can answer is
rendered through the client's own translation of a real HTTP response, in both languages. Each
must have its own text that says what happened (and no code in parentheses), and the Turkish
text must hold no English word.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from kamusm import errors
from kamusm._contract import ERRORS, FORBIDDEN_REASONS
from kamusm._portal_errors import BY_CODE, error_from_response
from kamusm.messages import LANGUAGES, MESSAGES, format_date, text
from kamusm.policy import PinPolicy
from kamusm.readiness import Readiness, ReadinessState
from kamusm.testing.sandbox import RunningSandbox
from kamusm.values import ManualClock, PinStatus, Product

SANDBOX = Path(errors.__file__).resolve().parent / "sandbox"

#: Words both languages share: names of products, places and things Turkish uses as they are.
SHARED = frozenset(
    {
        "pin", "puk", "sms", "nes", "pkcs", "kamu", "sm", "kimlik", "no", "tls", "http", "https",
        "so", "akis", "dys", "ebys", "web", "parola", "tc", "uekae", "saha", "portal", "mali",
        "test", "var", "x", "kamusm",
    }
)  # fmt: skip


def words(shown: str) -> set[str]:
    """The ASCII words of ``shown`` (lower case), without its ``{fields}``, environment
    variables and paths."""
    kept = re.sub(r"{.*?}|KAMUSM_\w+|\S*/\S*", " ", shown)
    found = re.findall(r"[^\W\d_]+", kept)
    return {w.lower() for w in found if w.isascii() and len(w) > 1}


def english_words() -> frozenset[str]:
    """Every word of an English library text that its Turkish text does not have too, and
    the English words that came from outside the table before (product names, the card's
    "(serial …)", the module search's reasons)."""
    english = {"serial", "qualified", "signature", "financial", "seal", "such", "file"}
    english |= {"wrong", "architecture", "could", "loaded", "initialised", "the", "of"}
    for entry in MESSAGES.values():
        english |= words(entry["en"]) - words(entry["tr"])
    return frozenset(english - SHARED)


def all_error_classes() -> list[type[errors.KamusmError]]:
    found, todo = [], [errors.KamusmError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


VIOLATIONS = PinPolicy().violations("1111", confirmation="1111")
#: A value for every keyword an error class takes: a new one without a value here fails.
SAMPLES: dict[str, object] = {
    "status": 503,
    "code": "CKR_DEVICE_ERROR",
    "attempts_remaining": 2,
    "reason": "product_mismatch",
    "retry_after": 30,
    "tried": [("/usr/lib/libakisp11.so", "no such file")],
    "problems": [
        ("/usr/lib/libakisp11.so", "no_such_file", {}),
        ("/opt/Akia/libakisp11.so", "wrong_architecture", {"built": "arm64", "host": "x86_64"}),
        ("/usr/lib/softhsm/libsofthsm2.so", "not_loadable", {}),
    ],
    "candidates": ["AKIS_1 (serial 1)", "AKIS_2 (serial 2)"],
    "cards": [("AKIS_1", "1"), ("AKIS_2", "2")],
    "reader": "ACS ACR38U 00 00",
    "programs": ["dys-client"],
    "service": "pcscd",
    "state": "CARD_CHOSEN",
    "event": "PinChosen",
    "product": Product.NES,
    "readiness": Readiness(
        findings=(ReadinessState.LOCKED,),
        pin_status=PinStatus(locked=True),
        certificate=None,
        product=Product.NES,
        days_left=None,
    ),
    "scheme": "rsa-pss-sha256",
    "found": [Product.MALI_MUHUR],
    "attempts": 3,
    "violations": VIOLATIONS,
    "length": 15,
    "kind": "sms",
    "expired_on": date(2026, 5, 4),
    "valid_from": date(2026, 5, 4),
    "serials": ["1A2B", "3C4D"],
    "field": "Imza1",
    "url": "http://127.0.0.1:3161/tsa",
}


def instance(cls: type[errors.KamusmError]) -> errors.KamusmError:
    params = inspect.signature(cls.__init__).parameters
    samples = SAMPLES | (
        {"status": PinStatus(locked=True)} if cls is errors.PinIncorrectError else {}
    )
    kwargs = {n: samples[n] for n, p in params.items() if n != "self" and p.default is p.empty}
    kwargs |= {n: samples[n] for n in params if n in samples and n not in kwargs}
    return cls(**kwargs)


CODE_IN_PARENS = re.compile(r"\(\s*[a-z]+(?:_[a-z]+)+\s*\)|\bCKR_|\bHTTP \d")


def assert_holder_text(shown: str, lang: str) -> None:
    assert shown.strip()
    assert "{" not in shown and "}" not in shown, shown
    assert not CODE_IN_PARENS.search(shown), shown
    if lang == "tr":
        assert not words(shown) & english_words(), (shown, words(shown) & english_words())


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_its_own_text_in_both_languages(
    cls: type[errors.KamusmError],
) -> None:
    """Each class names its own message (not one inherited from its parent), and an instance
    renders it in Turkish and English without a code or an English word in the Turkish."""
    own = vars(cls)
    assert "key" in own or "message" in own, f"{cls.__name__} has no message of its own"
    others = {c.key for c in all_error_classes() if c is not cls and "key" in vars(c)}
    assert "key" not in own or cls.key not in others, f"{cls.__name__} shares {cls.key!r}"
    err = instance(cls)
    for lang in LANGUAGES:
        assert_holder_text(err.message(lang), lang)
    assert err.message("tr") != err.message("en")


def sandbox_refusals() -> set[tuple[str, str | None]]:
    """Every ``(code, reason)`` the sandbox's source can answer with (``ApiError(status,
    code, reason=…)``); a reason built from a certificate status stands for each status."""
    found: set[tuple[str, str | None]] = set()
    for path in SANDBOX.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ApiError"):
                continue
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                continue
            code = str(node.args[1].value)
            reason = next((k.value for k in node.keywords if k.arg == "reason"), None)
            if reason is None:
                found.add((code, None))
            elif isinstance(reason, ast.Constant):
                found.add((code, str(reason.value)))
            elif isinstance(reason, ast.JoinedStr) and ast.unparse(reason).startswith(
                "f'certificate_"
            ):
                found |= {(code, f"certificate_{s}") for s in ("active", "suspended", "revoked")}
    return found


def client_error(code: str, reason: str | None, status: int = 409) -> errors.PortalError:
    """The error the client raises for this refusal, from a real HTTP response."""
    body: dict[str, object] = {"error": code, "attempts_remaining": 2, "retry_after": 30}
    if reason is not None:
        body["reason"] = reason
    response = httpx.Response(status, json=body)
    return error_from_response(response, ManualClock(datetime(2026, 5, 4, tzinfo=UTC)))


def test_every_code_the_sandbox_answers_is_one_the_client_maps() -> None:
    codes = {code for code, _ in sandbox_refusals()}
    assert codes, "no refusal found in the sandbox's source"
    assert codes <= set(ERRORS) <= set(BY_CODE), codes - set(BY_CODE)


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_error_code_has_its_own_text(code: str) -> None:
    """Each code of the contract reaches the holder as a text of its own (no two codes share
    one), in both languages, without the code."""
    err = client_error(code, None)
    key = err.message_key()
    shared = [
        other
        for other in BY_CODE
        if other != code and client_error(other, None).message_key() == key
    ]
    assert shared == [], f"{code} shares its text with {shared}"
    for lang in LANGUAGES:
        shown = err.message(lang)
        assert_holder_text(shown, lang)
        assert code not in shown


#: The refusals whose reason picks the text (a ``bad_request``'s reason is for logs only).
EXPLAINED: dict[str, type[errors.ConflictError | errors.ForbiddenError]] = {
    "conflict": errors.ConflictError,
    "forbidden": errors.ForbiddenError,
}


def explained_refusals() -> list[tuple[str, str]]:
    """Every ``(code, reason)`` of a conflict or a refusal the sandbox's source answers, and
    every forbidden reason the contract names."""
    found = {(c, r) for c, r in sandbox_refusals() if c in EXPLAINED and r is not None}
    found |= {("forbidden", reason) for reason in FORBIDDEN_REASONS}
    return sorted(found)


def test_the_sandbox_sends_only_the_forbidden_reasons_the_contract_names() -> None:
    sent = {r for c, r in sandbox_refusals() if c == "forbidden"}
    assert sent, "no forbidden refusal found in the sandbox's source"
    assert sent <= set(FORBIDDEN_REASONS), sent - set(FORBIDDEN_REASONS)


@pytest.mark.parametrize(("code", "reason"), explained_refusals())
def test_every_conflict_and_forbidden_reason_is_explained(code: str, reason: str) -> None:
    """A conflict's reason ("product_mismatch", "no_card_for_product", …) or a forbidden
    one ("origin", "sifreli_giris_required") picks a text of its own that says what happened
    and what to do; the reason itself stays on the error for logs."""
    err = client_error(code, reason, status=ERRORS[code].status)
    assert isinstance(err, errors.ConflictError | errors.ForbiddenError)
    assert isinstance(err, EXPLAINED[code])
    assert err.reason == reason
    assert err.message_key() == f"portal.{code}.{reason}"
    generic = client_error(code, None, status=ERRORS[code].status)
    for lang in LANGUAGES:
        shown = err.message(lang)
        assert_holder_text(shown, lang)
        assert reason not in shown
        assert shown != generic.message(lang)


def test_a_forbidden_refusal_keeps_its_reason_from_a_real_sandbox(
    kamusm_sandbox: RunningSandbox,
) -> None:
    """Over HTTP: a foreign ``Origin`` is refused ``forbidden`` / ``origin``; the client
    keeps the reason and tells the holder why in both languages."""
    response = httpx.post(
        f"{kamusm_sandbox.url}/api/v1/session/captcha",
        headers={"Origin": "https://evil.example", "Content-Type": "application/json"},
        content=b"{}",
        trust_env=False,
    )
    err = error_from_response(response, ManualClock(datetime(2026, 5, 4, tzinfo=UTC)))
    assert isinstance(err, errors.ForbiddenError)
    assert err.reason == "origin"
    assert "başka bir siteden" in err.message("tr")
    assert "another site" in err.message("en")


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_library_message_is_turkish_in_turkish(key: str) -> None:
    fields = dict.fromkeys(re.findall(r"{(\w+)}", MESSAGES[key]["tr"]), "7")
    assert_holder_text(text(key, "tr", **fields), "tr")


def test_plurals_follow_the_count() -> None:
    one = [
        errors.TooManyAttemptsError(attempts=1),
        errors.RateLimitedError(retry_after=1),
        errors.SmsCodeRejectedError(attempts_remaining=1),
        errors.WebPasswordRejectedError(attempts_remaining=1),
    ]
    for err in one:
        assert not re.search(r"\b1 \w+s\b", err.message("en")), err.message("en")
    assert "3 times" in errors.TooManyAttemptsError(attempts=3).message("en")
    assert "30 seconds" in errors.RateLimitedError(retry_after=30).message("en")


def test_dates_are_day_month_year_in_turkish() -> None:
    assert format_date(date(2026, 5, 4), "tr") == "04.05.2026"
    assert format_date(date(2026, 5, 4), "en") == "2026-05-04"
    expired = errors.CertificateExpiredError(product=Product.NES, expired_on=date(2026, 5, 4))
    assert "04.05.2026" in expired.message("tr")


def test_the_product_names_and_routes_are_in_the_holders_language() -> None:
    wrong = errors.WrongProductError(product=Product.NES, found=[Product.MALI_MUHUR])
    assert "nitelikli elektronik sertifika" in wrong.message("tr")
    assert "qualified" not in wrong.message("tr")
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in wrong.message("tr")
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in wrong.message("en")


def test_the_locked_card_advice_names_the_cards_own_route() -> None:
    locked = PinStatus(locked=True)
    mali = errors.PinIncorrectError(status=locked, product=Product.MALI_MUHUR)
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in mali.message("tr")
    assert "NES İşlemleri" not in mali.message("tr")
    nes = errors.PinLockedUseResetError(product=Product.NES)
    assert "NES İşlemleri" in nes.message("tr")
    assert "Mali Mühür" not in nes.message("tr")
    unknown = errors.PinLockedError()  # the token layer does not know the product: both
    assert "NES İşlemleri" in unknown.message("tr")
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in unknown.message("tr")


def test_the_module_search_tells_its_reasons_in_turkish(tmp_path: Path) -> None:
    """No module where the search looks (a missing file, a file that is no library): every
    reason the holder reads is Turkish; the English ones stay in ``tried`` for logs."""
    from kamusm.token import Pkcs11Module

    junk = tmp_path / "libakisp11.so"
    junk.write_text("not a shared object\n")
    for place in (tmp_path / "missing.so", junk):
        with pytest.raises(errors.Pkcs11ModuleNotFoundError) as caught:
            Pkcs11Module.open(place)
        shown = caught.value.message("tr")
        assert_holder_text(shown, "tr")
        assert "dosya yok" in shown or "yüklenemedi" in shown
        ((_, english),) = caught.value.tried  # the detailed English reason, for logs
        assert english.startswith(("no such file", "could not be loaded"))


def test_the_code_stays_on_the_error() -> None:
    conflict = client_error("conflict", "initial_pin_already_shown")
    assert isinstance(conflict, errors.ConflictError)
    assert conflict.reason == "initial_pin_already_shown"
    assert "initial_pin_already_shown" not in conflict.message("tr") + conflict.message("en")
    token = errors.TokenError(code="CKR_DEVICE_ERROR")
    assert token.code == "CKR_DEVICE_ERROR"
    assert "CKR" not in token.message("tr") + token.message("en")
    illegal = errors.IllegalTransitionError(state="CARD_CHOSEN", event="PinChosen")
    assert "CARD_CHOSEN" not in illegal.message("tr")
    assert "CARD_CHOSEN" in str(illegal)  # for developers
