#!/usr/bin/env bash
# Install the console's front-end packages (agent_ui/package.json, pinned by its lock file) from the npm
# registry into agent_ui/node_modules, which the app serves at /static/vendor/<name>/ (agent_ui/vendor.py).
# Installs Debian's nodejs/npm first when missing (needs root). Fast when nothing changed: `npm ci` runs
# only when the lock file differs from the one the installed node_modules was made from.
set -eu
ui="$(cd "$(dirname "$0")/../../agent_ui" && pwd)"
stamp="$ui/node_modules/.lianluo-lock.sha256"
want_sum="$(sha256sum "$ui/package.json" "$ui/package-lock.json" | sha256sum | cut -d' ' -f1)"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_sum" ] && exit 0

want=()
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "the console's front-end packages need Node.js and npm: as root, apt-get install -y ${want[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${want[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

echo "installing the console's front-end packages (npm ci in agent_ui/)" >&2
# --ignore-scripts: the packages ship built files in dist/; no install script of theirs needs to run.
(cd "$ui" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
echo "$want_sum" > "$stamp"
