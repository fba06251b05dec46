"""Where the PKCS#11 module is looked for, and whether a file found there can load here.

Private to the token layer (:meth:`kamusm.token.Pkcs11Module.open` uses it). No I/O but reading
the first bytes of a candidate file; the platform is a value (:class:`Platform`), so the places
for Windows and macOS are tested on any machine by describing one.

Where AKİS is installed:

- Windows: ``akisp11.dll`` in the system directory. A 32-bit Python on 64-bit Windows loads
  32-bit DLLs only; the 32-bit build lives in ``SysWOW64`` (which such a process also sees as
  ``System32``), so that Python looks there first. A 64-bit Python skips ``SysWOW64``: what it
  finds there could never load.
- macOS: ``/usr/local/lib/libakisp11.dylib`` for the Intel and the Apple Silicon package alike
  (they are separate downloads, and the Intel one cannot load into an arm64 Python; some older
  installers link it from ``/Library/Java/Extensions``). Homebrew's prefix differs
  (``/usr/local`` on Intel, ``/opt/homebrew`` on Apple Silicon), which decides where SoftHSM2 is.
- Linux: ``/usr/lib/libakisp11.so`` (some packages ship ``/opt/Akia/libakisp11.so``).

A file built for another architecture is refused before loading, with a reason naming both
architectures, and on a Mac which AKİS package each one is.
"""

from __future__ import annotations

import ntpath
import os
import platform
import struct
import sys
import sysconfig
from collections.abc import Mapping

import attrs

__all__ = [
    "Platform",
    "architecture_problem",
    "binary_machines",
    "default_locations",
    "host_machine",
]

_ELF_MACHINES: Mapping[int, str] = {
    3: "x86",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv64",
}
_MACHO_CPUS: Mapping[int, str] = {
    7: "x86",
    0x01000007: "x86_64",
    12: "arm",
    0x0100000C: "aarch64",
    18: "ppc",
    0x01000012: "ppc64",
}
_PE_MACHINES: Mapping[int, str] = {
    0x014C: "x86",
    0x8664: "x86_64",
    0x01C4: "arm",
    0xAA64: "aarch64",
}
_MACHINE_ALIASES: Mapping[str, str] = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "arm64": "aarch64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64",
}
# How the AKİS downloads for macOS are named, by the architecture they are built for.
_MAC_PACKAGES: Mapping[str, str] = {
    "x86_64": "the AKİS package for Intel Macs",
    "aarch64": "the AKİS package for Apple Silicon",
}


def _normalise(machine: str) -> str:
    lowered = machine.lower()
    return _MACHINE_ALIASES.get(lowered, lowered)


@attrs.frozen
class Platform:
    """What the search depends on: the OS, this Python's architecture, and on Windows whether
    the OS itself is 64-bit and where it lives."""

    system: str
    """``sys.platform``: ``win32``, ``darwin``, ``linux``, ..."""
    machine: str
    """The architecture this Python runs as (``x86`` for a 32-bit Python on x86_64)."""
    windows_64bit: bool = False
    system_root: str = r"C:\Windows"
    multiarch: str = ""
    """Debian's multiarch triplet (``x86_64-linux-gnu``), where Linux keeps its modules."""

    @classmethod
    def current(cls) -> Platform:
        """This process's platform."""
        machine = host_machine()
        if sys.platform == "win32":
            # A 32-bit process on 64-bit Windows sees PROCESSOR_ARCHITEW6432 (WOW64).
            wow = os.environ.get("PROCESSOR_ARCHITEW6432", "")
            native = _normalise(wow or os.environ.get("PROCESSOR_ARCHITECTURE", machine))
            return cls(
                system="win32",
                machine=machine,
                windows_64bit=native in ("x86_64", "aarch64"),
                system_root=os.environ.get("SYSTEMROOT", r"C:\Windows"),
            )
        multiarch = str(sysconfig.get_config_var("MULTIARCH") or "")
        return cls(system=sys.platform, machine=machine, multiarch=multiarch)


def host_machine() -> str:
    """The architecture this Python runs as, in the names :func:`binary_machines` uses."""
    machine = _normalise(platform.machine())
    if machine == "x86_64" and struct.calcsize("P") == 4:
        return "x86"
    if machine == "aarch64" and struct.calcsize("P") == 4:
        return "arm"
    return machine


def default_locations(where: Platform | None = None) -> list[str]:
    """Where the AKİS module is installed on this platform, then SoftHSM2 and opencryptoki."""
    where = where if where is not None else Platform.current()
    if where.system == "win32":
        system32 = ntpath.join(where.system_root, "System32", "akisp11.dll")
        places = []
        if where.windows_64bit and where.machine == "x86":
            places.append(ntpath.join(where.system_root, "SysWOW64", "akisp11.dll"))
        places.append(system32)
        softhsm = "softhsm2.dll" if where.machine == "x86" else "softhsm2-x64.dll"
        places.append(ntpath.join("C:\\", "SoftHSM2", "lib", softhsm))
        return places
    if where.system == "darwin":
        brew = ["/usr/local", "/opt/homebrew"]
        if where.machine == "aarch64":
            brew.reverse()
        return [
            "/usr/local/lib/libakisp11.dylib",
            "/Library/Java/Extensions/libakisp11.dylib",
            *(f"{prefix}/lib/softhsm/libsofthsm2.so" for prefix in brew),
        ]
    multiarch = where.multiarch or f"{where.machine}-linux-gnu"
    return [
        "/usr/lib/libakisp11.so",
        "/opt/Akia/libakisp11.so",
        "/usr/lib/softhsm/libsofthsm2.so",
        f"/usr/lib/{multiarch}/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        f"/usr/lib/{multiarch}/pkcs11/libopencryptoki.so",
        "/usr/lib64/opencryptoki/libopencryptoki.so",
    ]


def binary_machines(path: str) -> set[str] | None:
    """The architectures an ELF, Mach-O or PE file is built for (``None``: not recognised)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        endian = "<" if head[5] == 1 else ">"
        (machine,) = struct.unpack_from(endian + "H", head, 18)
        return {_ELF_MACHINES.get(machine, f"ELF machine {machine}")}
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") and len(head) >= 8:
        (cpu,) = struct.unpack_from("<i", head, 4)
        return {_MACHO_CPUS.get(cpu, f"Mach-O CPU {cpu}")}
    if head[:4] == b"\xca\xfe\xba\xbe" and len(head) >= 8:  # universal binary
        (count,) = struct.unpack_from(">I", head, 4)
        cpus = (struct.unpack_from(">i", head, 8 + 20 * i)[0] for i in range(min(count, 8)))
        return {_MACHO_CPUS.get(cpu, f"Mach-O CPU {cpu}") for cpu in cpus}
    if head[:2] == b"MZ" and len(head) >= 64:
        (offset,) = struct.unpack_from("<I", head, 0x3C)
        if offset + 6 <= len(head) and head[offset : offset + 4] == b"PE\x00\x00":
            (machine,) = struct.unpack_from("<H", head, offset + 4)
            return {_PE_MACHINES.get(machine, f"PE machine {machine:#x}")}
    return None


def architecture_mismatch(
    path: str, where: Platform | None = None
) -> tuple[str, dict[str, str]] | None:
    """The same as :func:`architecture_problem`, as a message key under ``module_search.``
    and its fields, for the holder's language; ``None`` when the file may load."""
    where = where if where is not None else Platform.current()
    machines = binary_machines(path)
    if machines is None or where.machine in machines:
        return None
    fields = {"built": ", ".join(sorted(machines)), "host": where.machine}
    if where.system == "darwin" and where.machine in _MAC_PACKAGES:
        return "wrong_architecture.mac", fields
    if where.system == "win32" and where.windows_64bit:
        bits = "32" if where.machine in ("x86", "arm") else "64"
        folder = "SysWOW64" if bits == "32" else "System32"
        return "wrong_architecture.windows", {**fields, "bits": bits, "folder": folder}
    return "wrong_architecture", fields


def architecture_problem(path: str, where: Platform | None = None) -> str | None:
    """Why the file at ``path`` cannot load into this Python, or ``None`` when it may."""
    where = where if where is not None else Platform.current()
    machines = binary_machines(path)
    if machines is None or where.machine in machines:
        return None
    built = ", ".join(sorted(machines))
    reason = f"wrong architecture: the module is built for {built}, this Python runs on "
    reason += where.machine
    if where.system == "darwin" and where.machine in _MAC_PACKAGES:
        names = sorted(_MAC_PACKAGES[m] for m in machines if m in _MAC_PACKAGES)
        if names:
            reason += f" (the file is {' / '.join(names)}; install "
            reason += f"{_MAC_PACKAGES[where.machine]})"
    elif where.system == "win32" and where.windows_64bit:
        bits = "32" if where.machine in ("x86", "arm") else "64"
        reason += f" (a {bits}-bit Python on 64-bit Windows needs the {bits}-bit module"
        reason += ", in SysWOW64)" if bits == "32" else ", in System32)"
    return reason
