#!/usr/bin/env bash
# Installs code-server (a real VS Code, served to a browser) from the npm registry into a cache
# folder keyed by version, outside the extension's dependency tree. A plain `npm install
# code-server` fails offline because its postinstall downloads ripgrep from GitHub, so this does
# that postinstall by hand with Debian's `rg` (package ripgrep). Reused when already installed.
#
# usage: install.sh [VERSION] [CACHE_DIR]     prints the install folder on its last line
set -euo pipefail

version="${1:-4.100.3}"
cache="${2:-$(cd "$(dirname "$0")/../../.." && pwd)/.vscode-test}"
prefix="$cache/code-server-$version"
root="$prefix/node_modules/code-server"

if [ -f "$prefix/.installed" ]; then
  echo "$root"
  exit 0
fi

say() { echo "code-server $version: $*" >&2; }
rg_bin="$(command -v rg || true)"
if [ -z "$rg_bin" ]; then
  echo "code-server needs a ripgrep binary and cannot download one here: apt-get install ripgrep" >&2
  exit 1
fi

rm -rf "$prefix"
mkdir -p "$prefix"
cd "$prefix"
echo '{ "private": true, "description": "code-server for the Nix Remote Builders tests" }' > package.json
quiet=(--no-audit --no-fund --loglevel=error)
# node-pty's own postinstall runs `npx node-gyp`; let npx fetch it from the registry without asking.
export npm_config_yes=true

say "installing from the npm registry into $prefix"
npm install "code-server@$version" --ignore-scripts "${quiet[@]}" >&2
# argon2 (password hashing) is hoisted next to code-server: rebuild it where it landed.
npm rebuild argon2 "${quiet[@]}" >&2

say "installing VS Code's own dependencies"
cd "$root/lib/vscode"
npm install --omit=dev --ignore-scripts "${quiet[@]}" >&2
# What @vscode/ripgrep's postinstall would download, from Debian instead.
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$rg_bin" node_modules/@vscode/ripgrep/bin/rg
npm rebuild @vscode/spdlog node-pty native-watchdog @vscode/deviceid @parcel/watcher "${quiet[@]}" >&2

# The rest of code-server's postinstall.sh, by hand.
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
say "installing the built-in extensions' dependencies"
(cd extensions && npm install --omit=dev "${quiet[@]}" >&2)

touch "$prefix/.installed"
say "ready"
echo "$root"
