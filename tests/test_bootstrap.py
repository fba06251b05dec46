"""The two README commands on a machine that is not ready for them: scripts/_bootstrap.sh says
exactly what is missing and how to get it.

Each case runs the bootstrap's own functions in bash, against a stand-in for the missing part
made in a temporary directory: a pyenv shim with no interpreter behind it (what pyenv puts on
PATH for a version that is not in force), a Python whose venv support Debian left out (the
``python3-venv`` package), and an apt package that is missing on a machine where we are not
root (run as ``nobody`` with ``setpriv``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "scripts" / "_bootstrap.sh"


def _bash(script: str, *, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'source "{BOOTSTRAP}"; {script}'],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_a_pyenv_shim_without_an_interpreter_is_named_as_such(tmp_path: Path) -> None:
    # What pyenv's shim does when the version in force lacks the command: a message, exit 127.
    _executable(
        tmp_path / "shims" / "python3.13",
        '#!/bin/sh\necho "pyenv: $(basename $0): command not found" >&2\nexit 127\n',
    )
    env = {"PATH": f"{tmp_path / 'shims'}:/usr/bin:/bin", "PYTHON": "python3.13"}
    result = _bash("_kamusm_python", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "is a pyenv shim, not an interpreter" in result.stderr
    assert f"{tmp_path}/shims/python3.13" in result.stderr
    assert "older" not in result.stderr  # the old, misleading message


def test_an_old_python_is_named_with_its_version(tmp_path: Path) -> None:
    _executable(tmp_path / "bin" / "python3", "#!/bin/sh\necho 3.9\nexit 1\n")
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PYTHON": "python3"}
    result = _bash("_kamusm_python", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path}/bin/python3 is Python 3.9" in result.stderr


def test_a_python_that_runs_is_chosen(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "PYTHON": sys.executable}
    result = _bash("_kamusm_python", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable


def test_a_python_without_venv_support_says_which_package_to_install(tmp_path: Path) -> None:
    """Debian's python3 without python3-venv: its ensurepip is missing."""
    missing = tmp_path / "no-ensurepip" / "ensurepip"
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text(
        'raise ImportError("ensurepip is in the python3-venv package")\n', encoding="utf-8"
    )
    python = _executable(
        tmp_path / "bin" / "python3",
        f'#!/bin/sh\nPYTHONPATH="{missing.parent}" exec "{sys.executable}" "$@"\n',
    )
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(BOOTSTRAP, project / "scripts" / "_bootstrap.sh")
    (project / "pyproject.toml").write_text("", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHON": str(python),
        "KAMUSM_VENV": str(tmp_path / "venv"),
    }
    result = subprocess.run(
        ["bash", "-c", "source scripts/_bootstrap.sh; APT_PACKAGES_DEMO=(); kamusm_bootstrap demo"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=project,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert "apt-get install python3-venv" in result.stderr
    assert f"python{minor}-venv" in result.stderr
    assert not (tmp_path / "venv").exists()  # nothing half-made


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the check as another user: needs root")
def test_without_root_a_missing_apt_package_is_named_with_the_command(tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to run as nobody"
    script = f'source "{BOOTSTRAP}"; _kamusm_apt softhsm2 kamusm-no-such-package'
    result = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "sudo apt-get install kamusm-no-such-package" in result.stdout
    assert "softhsm2" not in result.stdout  # installed here: not asked for
