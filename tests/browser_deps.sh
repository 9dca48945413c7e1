#!/usr/bin/env bash
# Installs what tests/test_browser.py needs beyond pip: Debian's chromium (Playwright drives it; `playwright install`
# is not used, as it downloads browsers from the network). Does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "browser_deps: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
test -x /usr/bin/chromium
echo "browser_deps: installed $(/usr/bin/chromium --version 2>/dev/null)"
