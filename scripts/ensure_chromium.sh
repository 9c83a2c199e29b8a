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

bash "$(dirname "$0")/apt_install.sh" ensure_chromium "${packages[@]}"
[[ -x "$CHROMIUM" ]] || { echo "ensure_chromium: $CHROMIUM still missing after install" >&2; exit 1; }
