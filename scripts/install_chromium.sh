#!/usr/bin/env bash
# Install Debian's Chromium for the browser test of the website (tests/site, `make test-site`).
# Playwright drives this system browser (/usr/bin/chromium); it never downloads one of its own.
# Needs root, or sudo without a password. Does nothing when Chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: no apt-get here; install Chromium with your system's" >&2
    echo "package manager so that /usr/bin/chromium exists (Debian: apt-get install chromium)." >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "install_chromium.sh: installing Chromium needs root. Run:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y chromium
test -x /usr/bin/chromium
