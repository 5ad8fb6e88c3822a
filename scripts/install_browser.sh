#!/usr/bin/env bash
# Installs Debian's headless Chromium, its driver and an emoji font for the browser tests and the
# screenshot script, once: it does nothing when they are there.
# Needs root (as in CI) and Debian's package registry; elsewhere it says what to run and goes on,
# and the browser test skips with that reason.
set -euo pipefail

EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf  # the studio's icons, in screenshots
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -f "$EMOJI_FONT" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "Chromium is missing; the browser tests will skip. Install it with:" >&2
    echo "  sudo apt-get install chromium chromium-driver fonts-noto-color-emoji" >&2
    exit 0
fi
echo "Installing Chromium for the browser tests (first time only)..." >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh container are often empty: refresh them only when the install needs it.
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-color-emoji >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-color-emoji >/dev/null
}
echo "Installed $(/usr/bin/chromium --version 2>/dev/null | head -1)" >&2
