"""The release check of ``scripts/test``: kamusm as PyPI would get it and a user would install it.

1. builds the wheel and the sdist (``python -m build``, in an isolated build environment);
2. ``twine check --strict`` on both (the README must render on PyPI);
3. installs the wheel, without any extra, into a new virtual environment and there runs
   ``import kamusm`` (its version must be the one in pyproject.toml, and every public name
   must load) and the ``kamusm`` console script, which without the ``cli`` extra must say
   in one line what to install (exit 4), with no traceback;
4. adds the ``cli`` extra there and runs ``kamusm --version`` again, which must then print
   that version;
5. asks pip's resolver, against PyPI and with no configuration of this machine, what
   ``pip install "kamusm[pdf]"`` would install from that wheel (``--dry-run --ignore-installed
   --report``): pyHanko 0.38 and python-pkcs11 0.10 must be chosen (pyHanko's own ``pkcs11``
   extra would pin python-pkcs11 0.9 and make pip fall back to an old pyHanko). When PyPI
   cannot be reached this step says so and is not counted, unless ``KAMUSM_NO_SKIPS=1``
   (CI), where it fails.

Everything happens in a temporary directory that is removed afterwards. Exits 1 on the first
failed check, saying which.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX = "https://pypi.org/simple"
#: What ``kamusm[pdf]`` must resolve to: (distribution, major, minor).
PDF_SERIES = (("pyhanko", 0, 38), ("python-pkcs11", 0, 10))


class CheckFailedError(Exception):
    """A check of the distribution failed; the message says which and why."""


def run(
    *args: str | Path,
    ok_codes: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    print("    $", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run(  # noqa: S603 (our own build tools and the venv we made)
        [str(a) for a in args], capture_output=True, text=True, check=False, cwd=ROOT, env=env
    )
    if result.returncode not in ok_codes:
        raise CheckFailedError(
            f"exit {result.returncode} from {args[0]}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def check(work: Path) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    dist = work / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailedError(f"expected one wheel and one sdist, found {wheels + sdists}")
    print(f"    built {wheels[0].name} and {sdists[0].name}")
    run(sys.executable, "-m", "twine", "check", "--strict", wheels[0], sdists[0])

    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, script = env_dir / "bin" / "python", env_dir / "bin" / "kamusm"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheels[0])
    probe = "import kamusm; [getattr(kamusm, n) for n in kamusm.__all__]; print(kamusm.__version__)"
    found = run(python, "-c", probe).stdout.strip()
    if found != version:
        raise CheckFailedError(f"kamusm.__version__ is {found!r}, pyproject.toml says {version}")
    print(f"    without extras: import kamusm works, version {found}")
    bare = run(script, "--version", ok_codes=(4,))
    said = (bare.stdout + bare.stderr).strip()
    if "Traceback" in said or 'pip install "kamusm[cli]"' not in said or "\n" in said:
        raise CheckFailedError(f"without the cli extra, `kamusm --version` said:\n{said}")
    print(f"    without the cli extra: {said}")

    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheels[0]}[cli]")
    shown = run(script, "--version").stdout.strip()
    if shown != f"kamusm {version}":
        raise CheckFailedError(f"`kamusm --version` printed {shown!r}")
    print(f"    with the cli extra: {shown}")
    check_pdf_resolution(python, wheels[0], work)


def pypi_unreachable() -> str | None:
    """Why PyPI's index cannot be read from here, or ``None`` when it can."""
    try:
        with urllib.request.urlopen(f"{INDEX}/pyhanko/", timeout=20) as answer:  # noqa: S310
            answer.read(1)
    except (urllib.error.URLError, OSError) as exc:
        return f"{INDEX} cannot be reached ({exc})"
    return None


def check_pdf_resolution(python: Path, wheel: Path, work: Path) -> None:
    """pip's own resolver, on PyPI, for ``kamusm[pdf]`` from the wheel just built."""
    reason = pypi_unreachable()
    if reason is not None:
        if os.environ.get("KAMUSM_NO_SKIPS") == "1":
            raise CheckFailedError(f"the pdf extra's resolution needs PyPI: {reason}")
        print(f"    NOT CHECKED: what pip resolves for kamusm[pdf]: {reason}")
        return
    report = work / "pdf-resolution.json"
    # No pip configuration of this machine (its local indexes, find-links and constraints):
    # what a user with plain pip gets from PyPI.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    started = time.monotonic()
    run(
        python, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed",
        "--quiet", "--disable-pip-version-check", "--index-url", INDEX,
        "--report", report, f"{wheel}[pdf]",
        env=env,
    )  # fmt: skip
    seconds = time.monotonic() - started
    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text(encoding="utf-8"))["install"]
    }
    for name, major, minor in PDF_SERIES:
        found = chosen.get(name)
        if found is None or found.split(".")[:2] != [str(major), str(minor)]:
            raise CheckFailedError(
                f"pip would install {name} {found} for kamusm[pdf], not {major}.{minor}.x: "
                + ", ".join(f"{n} {v}" for n, v in sorted(chosen.items()))
            )
    print(
        f"    kamusm[pdf] from PyPI: pip resolves pyHanko {chosen['pyhanko']} and python-pkcs11 "
        f"{chosen['python-pkcs11']} ({len(chosen)} distributions, {seconds:.1f} s)"
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kamusm-dist-") as work:
        try:
            check(Path(work))
        except CheckFailedError as exc:
            print(f"release check failed: {exc}", file=sys.stderr)
            return 1
    print("    the wheel and the sdist are fine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
