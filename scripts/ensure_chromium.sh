#!/usr/bin/env bash
# Make sure headless Chromium (and a CJK font, so Chinese text in the report renders instead of
# showing tofu boxes) is installed: the report test renders the HTML in a real browser.
# Idempotent: does nothing when both are present. Debian/Ubuntu only (apt-get); needs root or sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CJK_FONT_DIR=/usr/share/fonts/opentype/noto

have_font() {
    # fc-list may be absent on a bare image; the package's font directory is the fallback test.
    if command -v fc-list >/dev/null 2>&1; then
        fc-list :lang=zh family 2>/dev/null | grep -qi 'noto sans cjk'
    else
        ls "$CJK_FONT_DIR"/NotoSansCJK* >/dev/null 2>&1
    fi
}

packages=()
[[ -x "$CHROMIUM" ]] || packages+=(chromium)
have_font || packages+=(fonts-noto-cjk)

if [[ ${#packages[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: apt-get not found; install ${packages[*]} with your package manager" >&2
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "ensure_chromium: need root to install ${packages[*]}" >&2
        exit 1
    fi
fi

echo "ensure_chromium: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
[[ -x "$CHROMIUM" ]] || { echo "ensure_chromium: $CHROMIUM still missing after install" >&2; exit 1; }
