#!/usr/bin/env bash
# Install the Debian packages the suite (and `lianluo ivr prompts`) needs when they are missing:
# espeak-ng and sox turn the IVR's prompt texts into the 8 kHz audio Asterisk plays.
# Needs root (CI and the dev machines run as root); without it, says what to install and goes on,
# and the tests that need the tools say they were skipped and why.
set -u
want=()
command -v espeak-ng >/dev/null 2>&1 || want+=(espeak-ng)
command -v sox >/dev/null 2>&1 || want+=(sox)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing Debian packages: ${want[*]} (apt-get install -y ${want[*]})" >&2
  exit 0
fi
echo "installing Debian packages: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
  || echo "could not install ${want[*]}; the tests that need them will be skipped" >&2
