#!/usr/bin/env bash
# `scripts/apt_install.sh WHO PACKAGE...`: install Debian packages for the project's own scripts,
# as root or through passwordless sudo. WHO names the caller in every message. Debian/Ubuntu only.
set -euo pipefail

who=$1
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: apt-get not found; install $* with your package manager" >&2
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "$who: need root to install $*" >&2
        exit 1
    fi
fi

echo "$who: installing $*" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
