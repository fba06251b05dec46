"""The CI guard (``tests/ci_guard.py``) run on a small suite of its own through pytester: under
``KAMUSM_NO_SKIPS=1`` a skip fails and a deselected opencryptoki test stops the run; without
the variable both are as pytest has them."""

from __future__ import annotations

import pytest

SUITE = """
import pytest

@pytest.mark.opencryptoki
def test_counts():
    pass

def test_plain():
    pass

def test_skips():
    pytest.skip("a part is missing")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    opencryptoki: needs opencryptoki\n")
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest_inprocess("-p", "tests.ci_guard", "-p", "no:cacheprovider", *args)


def test_without_the_variable_a_skip_is_a_skip_and_deselection_is_allowed(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAMUSM_NO_SKIPS", raising=False)
    run(suite).assert_outcomes(passed=2, skipped=1)
    run(suite, "-m", "not opencryptoki").assert_outcomes(passed=1, skipped=1, deselected=1)


def test_under_the_variable_a_skip_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMUSM_NO_SKIPS", "1")
    result = run(suite)
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    "args",
    [
        ("-m", "not opencryptoki"),
        ("-k", "not counts"),
        ("--deselect", "test_suite.py::test_counts"),
        ("--ignore", "test_suite.py"),
        ("--noconftest", "-m", "not opencryptoki"),
    ],
    ids=["-m", "-k", "--deselect", "--ignore", "--noconftest"],
)
def test_under_the_variable_leaving_out_an_opencryptoki_test_stops_the_run(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("KAMUSM_NO_SKIPS", "1")
    result = run(suite, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*KAMUSM_NO_SKIPS=1*"])
    assert "passed" not in result.stdout.str()  # nothing ran


def test_under_the_variable_deselecting_only_other_tests_is_allowed(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMUSM_NO_SKIPS", "1")
    result = run(suite, "-k", "not skips")
    result.assert_outcomes(passed=2, deselected=1)
