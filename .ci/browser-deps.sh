#!/usr/bin/env bash
# Install what the browser test (tests/browser/) needs on a fresh Debian machine: Debian's chromium.
# Idempotent: returns at once when /usr/bin/chromium is already there. Never downloads a browser build.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
