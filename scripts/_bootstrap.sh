# Shared by scripts/test and scripts/demo: install what kamusm needs, from nothing.
# Sourced, not run. `kamusm_bootstrap EXTRAS` sets VENV and PY; EXTRAS is what pip installs
# (scripts/demo: cli,sandbox; scripts/test: all).

# One package a line, grouped by the part that needs it.
APT_PACKAGES=(
  python3-venv     # `python3 -m venv` on Debian (stock Debian 12 lacks it)
  softhsm2         # the default test token
  opencryptoki     # the token that counts wrong PINs and locks
  opensc           # pkcs11-tool
  chromium         # the docs site test opens the built site in headless Chromium
  chromium-driver  # and drives it with Selenium through this driver (nothing downloaded)
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
# What scripts/demo needs of the above (a SoftHSM2 card; Python's venv).
APT_PACKAGES_DEMO=(python3-venv softhsm2)

_kamusm_apt() {
  local -a wanted=("$@") missing=()
  local p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> apt-get install ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v dpkg-query >/dev/null 2>&1; then
    echo "note: not installed, and this is not root: ${missing[*]}"
    echo "      to install them: sudo apt-get install ${missing[*]}"
    echo "      (tests that need one say so)"
  fi
}

# The first Python 3.11+ that really runs. A pyenv shim is found on PATH even when the pyenv
# version in force has no such interpreter; it then fails when run, so each candidate is run.
_kamusm_python() {
  local candidate path out problems=""
  local -a candidates=(python3.11 python3.12 python3.13 python3)
  [ -n "${PYTHON:-}" ] && candidates=("$PYTHON")
  for candidate in "${candidates[@]}"; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if out=$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(sys.version_info < (3, 11))' 2>/dev/null); then
      echo "$path"
      return 0
    elif [ -n "$out" ]; then
      problems+="    $path is Python $out"$'\n'
    elif [[ "$path" == */shims/* ]]; then
      # pyenv knows which of its versions have this command (`pyenv whence`).
      local has
      has=$(pyenv whence "$candidate" 2>/dev/null | tr '\n' ' ')
      problems+="    $path is a pyenv shim, not an interpreter: the pyenv version in force ($(pyenv version-name 2>/dev/null || echo unknown)) has no $candidate."
      if [ -n "$has" ]; then
        problems+=" These have it: ${has% }; choose one with 'pyenv shell VERSION' (or 'pyenv local VERSION')."$'\n'
      else
        problems+=" Install one with 'pyenv install 3.11'."$'\n'
      fi
    else
      problems+="    $path does not run"$'\n'
    fi
  done
  {
    echo "kamusm needs Python 3.11 or newer, and none that runs was found${PYTHON:+ (PYTHON=$PYTHON)}."
    [ -n "$problems" ] && printf 'Found:\n%s' "$problems"
    echo "Install one (Debian 12: sudo apt-get install python3 python3-venv), or set PYTHON=/path/to/python3.11."
  } >&2
  return 1
}

kamusm_bootstrap() {
  local extras=${1:-all}
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cd "$root"

  if [ "$extras" = all ]; then _kamusm_apt "${APT_PACKAGES[@]}"; else _kamusm_apt "${APT_PACKAGES_DEMO[@]}"; fi

  local python
  python=$(_kamusm_python) || exit 2

  VENV=${KAMUSM_VENV:-$root/.venv}
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
      local ver
      ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
      echo "$python cannot make a virtual environment: its venv/ensurepip part is missing." >&2
      echo "On Debian and Ubuntu install it as root: apt-get install python3-venv (for this Python: python$ver-venv)" >&2
      exit 2
    fi
    echo "==> creating the virtual environment $VENV"
    "$python" -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
  # The stamp lists the extras installed; a venv made by scripts/test ("all") serves the demo.
  local stamp="$VENV/.kamusm-installed"
  local have=""
  [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ] && have=$(cat "$stamp")
  if [ "$have" != all ] && [ "$have" != "$extras" ]; then
    echo "==> installing kamusm[$extras] into $VENV"
    "$PY" -m pip install -q --disable-pip-version-check -e ".[$extras]"
    echo "$extras" > "$stamp"
  fi
  # Bytecode for the package itself (an editable install is not compiled by pip), so that
  # `kamusm` starts fast even where PYTHONDONTWRITEBYTECODE forbids writing it on the fly.
  "$PY" -m compileall -q src >/dev/null || true
}
