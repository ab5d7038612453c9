#!/usr/bin/env bash
# Install the Debian packages the suite (and `lianluo ivr prompts`) needs when they are missing:
# espeak-ng and sox turn the IVR's prompt texts into the 8 kHz audio Asterisk plays; chromium runs the
# browser tests (tests/browser/, driven by Playwright through its executable path), and fonts-noto-cjk
# lets it render the console's Chinese text instead of empty boxes.
# Needs root (CI and the dev machines run as root); without it, says what to install and goes on,
# and the tests that need the tools say they were skipped, or failed, and why.
set -u
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
want=()
command -v espeak-ng >/dev/null 2>&1 || want+=(espeak-ng)
command -v sox >/dev/null 2>&1 || want+=(sox)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
installed fonts-noto-cjk || want+=(fonts-noto-cjk)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing Debian packages: ${want[*]} (as root: apt-get install -y ${want[*]})" >&2
  exit 0
fi
echo "installing Debian packages: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
  || echo "could not install ${want[*]}; the tests that need them will be skipped or fail" >&2
