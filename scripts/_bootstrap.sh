# Shared by scripts/test and scripts/demo: install what kamusm needs, from nothing.
# Sourced, not run. Sets VENV and PY.

# One package a line, grouped by the part that needs it.
APT_PACKAGES=(
  softhsm2      # the default test token
  opencryptoki  # the token that counts wrong PINs and locks
  opensc        # pkcs11-tool
  # the card readers (kamusm[pcsc]) and their tests: the test's own pcscd, the vpcd virtual
  # reader, the virtual card vicc, and what pyscard builds from source with
  pcscd
  vsmartcard-vpcd
  vsmartcard-vpicc
  python3-virtualsmartcard
  libpcsclite-dev
  swig
  chromium        # the browser tests of kamusm app and the training pages (headless)
  chromium-driver # Selenium drives chromium through it; nothing downloads a browser
)

kamusm_bootstrap() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cd "$root"

  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      echo "==> apt-get install ${missing[*]}"
      apt-get -o DPkg::Lock::Timeout=600 update -qq
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  else
    for p in "${APT_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || echo "note: $p is not installed and this is not root; tests that need it say so"
    done
  fi

  local python=${PYTHON:-}
  if [ -z "$python" ]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
    done
  fi
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "kamusm needs Python 3.11 or newer ($python is older)" >&2; exit 2; }

  VENV=${KAMUSM_VENV:-$root/.venv}
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating the virtual environment $VENV"
    "$python" -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
  local stamp="$VENV/.kamusm-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing kamusm[all] into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -U pip
    "$PY" -m pip install -q --disable-pip-version-check -e ".[all]"
    touch "$stamp"
  fi
  # Bytecode for the package itself (an editable install is not compiled by pip), so that
  # `kamusm` starts fast even where PYTHONDONTWRITEBYTECODE forbids writing it on the fly.
  "$PY" -m compileall -q src >/dev/null || true
}
