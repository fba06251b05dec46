"""The one translation point from python-pkcs11 exceptions to kamusm errors, and finding the
PKCS#11 module (every place tried is reported, with the reason, architecture included)."""

from __future__ import annotations

import inspect
import os
import struct
import sys
from pathlib import Path

import pkcs11.exceptions as pe
import pytest

from kamusm import _cryptoki, _module_search
from kamusm import token as token_module
from kamusm._module_search import Platform
from kamusm.errors import (
    PinIncorrectError,
    PinLockedError,
    PinRejectedByTokenError,
    Pkcs11ModuleNotFoundError,
    SoPinLockedError,
    TokenBusyError,
    TokenError,
    TokenRemovedError,
    UnblockFailedError,
)
from kamusm.testing.softhsm import find_softhsm_module
from kamusm.token import ENV_MODULE, PKCS11_ERRORS, Pkcs11Module
from kamusm.values import PinStatus

translate = token_module._translate
Step = token_module._Step


def pkcs11_exception_classes() -> list[type[pe.PKCS11Error]]:
    return [
        cls for _, cls in inspect.getmembers(pe, inspect.isclass) if issubclass(cls, pe.PKCS11Error)
    ]


def test_every_python_pkcs11_exception_class_is_mapped() -> None:
    """Fails when python-pkcs11 grows an exception class the table does not name."""
    classes = pkcs11_exception_classes()
    assert len(classes) > 60
    missing = [cls.__name__ for cls in classes if cls not in PKCS11_ERRORS]
    assert missing == []


@pytest.mark.parametrize("cls", pkcs11_exception_classes(), ids=lambda c: c.__name__)
def test_every_class_translates_to_a_token_error_with_its_code(
    cls: type[pe.PKCS11Error],
) -> None:
    for step in Step:
        err = translate(cls(), step=step)
        assert isinstance(err, TokenError)
        assert err.code == PKCS11_ERRORS[cls][0]
        assert err.message("tr") and err.message("en")


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (pe.DeviceRemoved, TokenRemovedError),
        (pe.TokenNotPresent, TokenRemovedError),
        (pe.SlotIDInvalid, TokenRemovedError),
        (pe.SessionClosed, TokenRemovedError),
        (pe.SessionHandleInvalid, TokenRemovedError),
        (pe.SessionCount, TokenBusyError),
        (pe.UserAlreadyLoggedIn, TokenBusyError),
        (pe.AnotherUserAlreadyLoggedIn, TokenBusyError),
        (pe.SessionReadOnlyExists, TokenBusyError),
        (pe.SessionReadWriteSOExists, TokenBusyError),
        (pe.PinLocked, PinLockedError),
        (pe.PinLenRange, PinRejectedByTokenError),
    ],
)
def test_removal_busy_and_pin_codes_map_to_their_errors(
    cls: type[pe.PKCS11Error], expected: type[TokenError]
) -> None:
    assert type(translate(cls())) is expected


def test_the_step_decides_what_a_wrong_pin_means() -> None:
    status = PinStatus(final_try=True, count_low=True)
    user = translate(pe.PinIncorrect(), step=Step.USER_LOGIN, status=status)
    assert isinstance(user, PinIncorrectError)
    assert user.status == status
    assert "Bir sonraki hatalı girişte PIN kilitlenecektir" in user.message("tr")
    assert type(translate(pe.PinIncorrect(), step=Step.SO_LOGIN)) is UnblockFailedError
    assert type(translate(pe.PinLocked(), step=Step.SO_LOGIN)) is SoPinLockedError
    assert type(translate(pe.PinLenRange(), step=Step.USER_LOGIN)) is PinIncorrectError
    assert type(translate(pe.PinLenRange(), step=Step.SET_PIN)) is PinRejectedByTokenError


def test_a_code_python_pkcs11_has_no_class_for_keeps_its_number() -> None:
    err = translate(pe.PKCS11Error("Unmapped error code 0x80000123"))
    assert type(err) is TokenError
    assert err.code == "CKR_0x80000123"  # on the error for logs, never in the holder's text
    assert "CKR_0x80000123" not in err.message("en") + err.message("tr")


def test_ctypes_return_codes_become_mapped_python_pkcs11_classes() -> None:
    """The calls made through ctypes raise the same classes, so they meet the same table."""
    for rv, cls in _cryptoki.RV_EXCEPTIONS.items():
        assert cls in PKCS11_ERRORS
        with pytest.raises(cls):
            _cryptoki.raise_rv(rv)
    with pytest.raises(pe.PKCS11Error, match="0x12345"):
        _cryptoki.raise_rv(0x12345)


# ---- finding the module ---------------------------------------------------------------------


def foreign_elf(path: Path) -> str:
    """An ELF header for an architecture this machine is not; returns that architecture."""
    host = _module_search.host_machine()
    machine, name = (183, "aarch64") if host != "aarch64" else (62, "x86_64")
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HH", 3, machine)
    path.write_bytes(header + bytes(64))
    return name


def test_explicit_path_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    missing = str(tmp_path / "libakisp11.so")
    with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
        Pkcs11Module.open(missing)
    assert caught.value.tried == ((missing, "no such file"),)
    assert missing in caught.value.message("tr")
    assert "KAMUSM_PKCS11_MODULE" in caught.value.message("en")


def test_module_for_another_architecture_says_so(tmp_path: Path) -> None:
    path = tmp_path / "libakisp11.so"
    arch = foreign_elf(path)
    with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
        Pkcs11Module.open(path)
    ((place, reason),) = caught.value.tried
    assert place == str(path)
    assert "wrong architecture" in reason and arch in reason
    assert _module_search.host_machine() in reason


def test_windows_and_macos_binaries_are_recognised_by_architecture(tmp_path: Path) -> None:
    pe_file = tmp_path / "akisp11.dll"
    header = bytearray(256)
    header[:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x80:0x86] = b"PE\x00\x00" + struct.pack("<H", 0xAA64)
    pe_file.write_bytes(bytes(header))
    assert _module_search.binary_machines(str(pe_file)) == {"aarch64"}
    macho = tmp_path / "libakisp11.dylib"
    macho.write_bytes(b"\xcf\xfa\xed\xfe" + struct.pack("<i", 0x01000007) + bytes(64))
    assert _module_search.binary_machines(str(macho)) == {"x86_64"}


def test_a_file_that_is_no_library_is_reported_as_not_loadable(tmp_path: Path) -> None:
    path = tmp_path / "libakisp11.so"
    path.write_text("not a shared object\n")
    with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
        Pkcs11Module.open(path)
    ((_, reason),) = caught.value.tried
    assert reason.startswith("could not be loaded")


def test_environment_variable_names_the_module_and_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "nothing.so")
    monkeypatch.setenv(ENV_MODULE, missing)
    with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
        Pkcs11Module.open()
    assert [place for place, _ in caught.value.tried] == [missing]

    softhsm = find_softhsm_module()
    if softhsm is None:
        pytest.skip("SoftHSM2 is not installed: apt-get install softhsm2")
    monkeypatch.setenv(ENV_MODULE, softhsm)
    assert Pkcs11Module.open().path == os.path.realpath(softhsm)


def test_default_search_tries_akis_first_and_lists_every_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_MODULE, raising=False)
    defaults = _module_search.default_locations()
    assert defaults[0] in ("/usr/lib/libakisp11.so", "/usr/local/lib/libakisp11.dylib") or (
        defaults[0].endswith("akisp11.dll")
    )
    assert any("softhsm2" in p for p in defaults)
    assert any("opencryptoki" in p for p in defaults)

    # The list itself is replaced (the AKİS driver cannot be installed here); loading is real.
    missing, foreign = str(tmp_path / "libakisp11.so"), tmp_path / "foreign.so"
    foreign_elf(foreign)
    monkeypatch.setattr(_module_search, "default_locations", lambda: [missing, str(foreign)])
    with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
        Pkcs11Module.open()
    assert [place for place, _ in caught.value.tried] == [missing, str(foreign)]
    assert "wrong architecture" in caught.value.tried[1][1]

    softhsm = find_softhsm_module()
    if softhsm is None:
        pytest.skip("SoftHSM2 is not installed: apt-get install softhsm2")
    monkeypatch.setattr(_module_search, "default_locations", lambda: [missing, softhsm])
    assert Pkcs11Module.open().path == os.path.realpath(softhsm)


# ---- where AKİS lives on each OS (the platform is described, the files are real) ------------

WIN64_PY32 = Platform(system="win32", machine="x86", windows_64bit=True, system_root=r"D:\Win")
WIN64_PY64 = Platform(system="win32", machine="x86_64", windows_64bit=True, system_root=r"D:\Win")
WIN32 = Platform(system="win32", machine="x86", windows_64bit=False, system_root=r"D:\Win")
MAC_INTEL = Platform(system="darwin", machine="x86_64")
MAC_ARM = Platform(system="darwin", machine="aarch64")


def test_a_32_bit_python_on_64_bit_windows_looks_in_syswow64_first() -> None:
    places = _module_search.default_locations(WIN64_PY32)
    assert places[:2] == [r"D:\Win\SysWOW64\akisp11.dll", r"D:\Win\System32\akisp11.dll"]


def test_a_64_bit_python_and_32_bit_windows_never_look_in_syswow64() -> None:
    for where in (WIN64_PY64, WIN32):
        places = _module_search.default_locations(where)
        assert places[0] == r"D:\Win\System32\akisp11.dll"
        assert not any("SysWOW64" in p for p in places)


def test_macos_looks_where_both_akis_packages_install_and_prefers_its_own_homebrew() -> None:
    intel = _module_search.default_locations(MAC_INTEL)
    arm = _module_search.default_locations(MAC_ARM)
    assert intel[0] == arm[0] == "/usr/local/lib/libakisp11.dylib"
    assert "/Library/Java/Extensions/libakisp11.dylib" in intel
    softhsm_intel = [p for p in intel if "softhsm" in p]
    softhsm_arm = [p for p in arm if "softhsm" in p]
    assert softhsm_intel[0].startswith("/usr/local/") and softhsm_arm[0].startswith(
        "/opt/homebrew/"
    )


def test_the_windows_platform_is_read_from_wow64s_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(_module_search, "host_machine", lambda: "x86")
    monkeypatch.setenv("PROCESSOR_ARCHITECTURE", "x86")
    monkeypatch.setenv("PROCESSOR_ARCHITEW6432", "AMD64")
    monkeypatch.setenv("SYSTEMROOT", r"E:\Windows")
    here = Platform.current()
    assert here == Platform(
        system="win32", machine="x86", windows_64bit=True, system_root=r"E:\Windows"
    )
    assert _module_search.default_locations(here)[0] == r"E:\Windows\SysWOW64\akisp11.dll"
    monkeypatch.delenv("PROCESSOR_ARCHITEW6432")
    assert not Platform.current().windows_64bit


def macho(path: Path, *cpus: int) -> str:
    """A thin Mach-O header for one CPU, or a universal one for several."""
    if len(cpus) == 1:
        path.write_bytes(b"\xcf\xfa\xed\xfe" + struct.pack("<i", cpus[0]) + bytes(64))
    else:
        arches = b"".join(struct.pack(">iiIII", cpu, 0, 0, 0, 0) for cpu in cpus)
        path.write_bytes(b"\xca\xfe\xba\xbe" + struct.pack(">I", len(cpus)) + arches)
    return str(path)


def test_an_intel_akis_module_on_apple_silicon_says_which_package_each_is(
    tmp_path: Path,
) -> None:
    intel_only = macho(tmp_path / "libakisp11.dylib", 0x01000007)
    reason = _module_search.architecture_problem(intel_only, MAC_ARM)
    assert reason is not None
    assert "built for x86_64" in reason and "runs on aarch64" in reason
    assert "Intel Macs" in reason and "install the AKİS package for Apple Silicon" in reason
    reverse = _module_search.architecture_problem(
        macho(tmp_path / "arm.dylib", 0x0100000C), MAC_INTEL
    )
    assert reverse is not None and "install the AKİS package for Intel Macs" in reverse
    universal = macho(tmp_path / "universal.dylib", 0x01000007, 0x0100000C)
    assert _module_search.architecture_problem(universal, MAC_ARM) is None
    assert _module_search.architecture_problem(universal, MAC_INTEL) is None


def test_a_64_bit_akis_dll_for_a_32_bit_python_points_to_syswow64(tmp_path: Path) -> None:
    dll = tmp_path / "akisp11.dll"
    header = bytearray(256)
    header[:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x80:0x86] = b"PE\x00\x00" + struct.pack("<H", 0x8664)
    dll.write_bytes(bytes(header))
    reason = _module_search.architecture_problem(str(dll), WIN64_PY32)
    assert reason is not None
    assert "built for x86_64" in reason and "32-bit module, in SysWOW64" in reason
    assert _module_search.architecture_problem(str(dll), WIN64_PY64) is None
