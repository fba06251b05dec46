"""The error tree and its Turkish/English messages."""

from __future__ import annotations

import pickle

import pytest

from kamusm import errors
from kamusm.messages import LANGUAGES, MESSAGES, text
from kamusm.values import PinStatus


def all_error_classes() -> list[type[errors.KamusmError]]:
    found: list[type[errors.KamusmError]] = []
    todo: list[type[errors.KamusmError]] = [errors.KamusmError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_message_exists_in_every_language() -> None:
    for key, by_lang in MESSAGES.items():
        for lang in LANGUAGES:
            assert by_lang.get(lang, "").strip(), f"{key} has no {lang} text"


def test_turkish_and_english_differ() -> None:
    """A missing translation copied from the other language is caught."""
    same = [k for k, v in MESSAGES.items() if v["tr"] == v["en"]]
    assert same == []


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_messages_in_both_languages(cls: type[errors.KamusmError]) -> None:
    for key in (cls.key, *cls.variant_keys):
        assert key in MESSAGES, f"{cls.__name__}: no message {key!r}"
        for lang in LANGUAGES:
            assert MESSAGES[key][lang].strip()


def test_every_error_class_is_exported() -> None:
    exported = {getattr(errors, n) for n in errors.__all__}
    missing = [c.__name__ for c in all_error_classes() if c not in exported]
    assert missing == []


def test_turkish_is_the_default_and_str_is_english() -> None:
    err = errors.PinLockedError()
    assert err.message().startswith("PIN kilitli.")
    assert err.message("en").startswith("The PIN is locked.")
    assert str(err) == err.message("en")
    assert "PUK" in err.message("tr")


def test_kamu_sm_wording_for_wrong_pin() -> None:
    assert errors.PinIncorrectError().message() == "Hatalı PIN."
    final = errors.PinIncorrectError(status=PinStatus(count_low=True, final_try=True))
    assert final.message() == "Hatalı PIN. Bir sonraki hatalı girişte PIN kilitlenecektir."
    assert final.attempts_remaining == 1
    locked = errors.PinIncorrectError(status=PinStatus(locked=True))
    assert locked.message().startswith("Hatalı PIN. PIN kilitlendi.")
    assert locked.attempts_remaining == 0


def test_context_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        errors.SmsCodeRejectedError(2)  # type: ignore[call-arg]
    err = errors.SmsCodeRejectedError(attempts_remaining=2)
    assert err.attempts_remaining == 2
    assert "2" in err.message("tr") and "2" in err.message("en")


def test_errors_survive_pickling() -> None:
    err = errors.RateLimitedError(retry_after=30, status=429)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is errors.RateLimitedError
    assert back.retry_after == 30 and str(back) == str(err)


def test_input_errors_are_value_errors() -> None:
    assert issubclass(errors.PinPolicyError, ValueError)
    assert issubclass(errors.CertificateParseError, errors.InputError)


def test_unknown_language_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="language"):
        text("error", "de")  # type: ignore[arg-type]


def test_module_not_found_lists_every_place() -> None:
    err = errors.Pkcs11ModuleNotFoundError(tried=[("/a.so", "missing"), ("/b.so", "wrong arch")])
    assert "/a.so: missing" in str(err) and "/b.so: wrong arch" in err.message("tr")
