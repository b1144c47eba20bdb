# shellcheck shell=bash
# Shared set-up steps for scripts/quickstart.sh, scripts/test.sh and .ci/run (sourced, not run).
#
# Works on a fresh Debian machine with only Python 3.11 and apt: missing Debian packages are
# installed with apt-get (as root, or through sudo), the virtualenv is created in .venv and
# filled from a pinned requirements file. Each step is skipped when already done, so running
# the scripts again is quick.

PACS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$PACS_ROOT/.venv"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

_pacs_apt_updated=""

_pacs_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "bootstrap: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# apt_install PACKAGE...: install Debian packages, running `apt-get update` once first.
apt_install() {
    if [ -z "$_pacs_apt_updated" ]; then
        _pacs_as_root apt-get update -qq
        _pacs_apt_updated=1
    fi
    _pacs_as_root apt-get install -y -qq --no-install-recommends "$@"
}

# ensure_debian_packages PACKAGE...: install those of the packages that are not installed.
ensure_debian_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "bootstrap: not a Debian system; make sure these are installed: $*" >&2
        return 0
    fi
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "bootstrap: installing Debian packages: ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

# find_python: print the command of a Python >= 3.11 (python3.11 preferred).
find_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "bootstrap: Python 3.11 or newer is required (apt-get install python3)" >&2
    return 1
}

# ensure_venv REQUIREMENTS_FILE: create .venv if needed and install the pinned requirements.
ensure_venv() {
    local requirements="$1" python stamp digest
    if [ ! -x "$VENV/bin/python" ]; then
        python="$(find_python)"
        echo "bootstrap: creating $VENV with $python"
        if ! "$python" -m venv "$VENV" >/dev/null 2>&1; then
            # Debian ships venv's ensurepip separately.
            rm -rf "$VENV"
            apt_install python3-venv
            "$python" -m venv "$VENV"
        fi
        "$VENV/bin/python" -m pip install -q --upgrade pip
    fi
    # Reinstall only when a requirements file changed since the last install of this one.
    stamp="$VENV/.pacs-installed-$(basename "$requirements" .txt)"
    digest="$(cat "$PACS_ROOT"/requirements/*.txt | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        echo "bootstrap: installing $requirements into $VENV"
        "$VENV/bin/python" -m pip install -q -r "$PACS_ROOT/$requirements"
        echo "$digest" >"$stamp"
    fi
}
