#!/usr/bin/env bash
# Install what the browser test (tests/browser/) needs on a fresh Debian machine: Debian's chromium.
# Idempotent: returns at once when the browser is there. Never downloads a browser build.
# `make test` runs this first; .ci/run does too. When it cannot install (not root and no password-less
# sudo, or no apt-get), it says exactly what to do and exits 2.
set -euo pipefail

CHROMIUM="${SMSKIT_CHROMIUM:-/usr/bin/chromium}"
if [ "${SMSKIT_SKIP_BROWSER:-}" = "1" ] || [ -x "$CHROMIUM" ]; then
    exit 0
fi

cannot() {
    cat >&2 <<MSG
The browser test (tests/browser/) needs Chromium at $CHROMIUM, and it is missing: $1.
Do one of these, then run \`make test\` again:
  - install it as root:          sudo bash .ci/browser-deps.sh   (Debian's chromium + fonts-dejavu-core)
  - use a Chromium you have:     SMSKIT_CHROMIUM=/path/to/chromium make test
  - leave the browser test out:  SMSKIT_SKIP_BROWSER=1 make test   (CI must not)
MSG
    exit 2
}

if ! command -v apt-get >/dev/null 2>&1; then
    cannot "this machine has no apt-get, so it is not the Debian this script installs on"
fi
AS_ROOT=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT=(sudo -n)
    else
        cannot "installing it needs root, and this user is not root and has no password-less sudo"
    fi
fi

echo "installing Debian's chromium for the browser test (apt-get, as root)" >&2
export DEBIAN_FRONTEND=noninteractive
"${AS_ROOT[@]}" apt-get update -qq || cannot "apt-get update failed"
"${AS_ROOT[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
    || cannot "apt-get install chromium failed"
[ -x "$CHROMIUM" ] || cannot "apt-get installed chromium, but not at $CHROMIUM"
"$CHROMIUM" --version
