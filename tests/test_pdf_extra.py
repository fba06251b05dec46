"""The ``pdf`` extra installs next to pyHanko 0.38: every requirement kamusm declares for it
(and its own) is met by what is installed in this environment, with the python-pkcs11 series
kamusm needs; pyHanko's own ``pkcs11`` extra, which kamusm does not use, could not be.

What pip's resolver itself chooses for ``pip install "kamusm[pdf]"`` on PyPI is checked by the
release step of ``scripts/test`` (``scripts/check_dist.py``), on the wheel it builds: it needs
the registry, which this suite does not."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.version import Version


def requirements(dist: str, extra: str | None) -> list[Requirement]:
    found = []
    for line in metadata.requires(dist) or []:
        req = Requirement(line)
        env = {"extra": extra or ""}
        if req.marker is None or req.marker.evaluate(env):
            if extra is None and req.marker is not None and "extra" in str(req.marker):
                continue
            found.append(req)
    return found


def test_the_pdf_extra_is_met_by_pyhanko_0_38_and_python_pkcs11_0_10() -> None:
    pyhanko = Version(metadata.version("pyhanko"))
    pkcs11 = Version(metadata.version("python-pkcs11"))
    assert (pyhanko.major, pyhanko.minor) == (0, 38)
    assert (pkcs11.major, pkcs11.minor) == (0, 10)
    wanted = requirements("kamusm", None) + requirements("kamusm", "pdf")
    names = {r.name.lower() for r in wanted}
    assert {"pyhanko", "python-pkcs11"} <= names
    for req in wanted:
        if req.name.lower() == "kamusm":
            continue  # an extra naming other extras
        installed = Version(metadata.version(req.name))
        assert req.specifier.contains(installed, prereleases=True), (str(req), str(installed))


def test_pyhankos_own_pkcs11_extra_would_conflict_so_kamusm_brings_the_signer() -> None:
    """pyHanko 0.38's ``pkcs11`` extra asks for python-pkcs11 ~=0.9.3: not what is installed,
    which is why the ``pdf`` extra depends on pyHanko without it."""
    pinned = [r for r in requirements("pyhanko", "pkcs11") if r.name == "python-pkcs11"]
    assert pinned, "pyHanko's pkcs11 extra no longer names python-pkcs11"
    assert not pinned[0].specifier.contains(metadata.version("python-pkcs11"))
    pdf = [str(r) for r in requirements("kamusm", "pdf") if r.name.lower() == "pyhanko"]
    assert pdf and all("pkcs11" not in r for r in pdf)


def test_pip_finds_no_broken_requirement_in_this_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
