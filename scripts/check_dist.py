"""The release check of ``scripts/test``: kamusm as PyPI would get it and a user would install it.

1. builds the wheel and the sdist (``python -m build``, in an isolated build environment);
2. ``twine check --strict`` on both (the README must render on PyPI);
3. installs the wheel, without any extra, into a new virtual environment and there runs
   ``import kamusm`` (its version must be the one in pyproject.toml, and every public name
   must load) and the ``kamusm`` console script, which without the ``cli`` extra must say
   in one line what to install (exit 4), with no traceback;
4. adds the ``cli`` extra there and runs ``kamusm --version`` again, which must then print
   that version.

Everything happens in a temporary directory that is removed afterwards. Exits 1 on the first
failed check, saying which.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CheckFailedError(Exception):
    """A check of the distribution failed; the message says which and why."""


def run(*args: str | Path, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    print("    $", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run(  # noqa: S603 (our own build tools and the venv we made)
        [str(a) for a in args], capture_output=True, text=True, check=False, cwd=ROOT
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
