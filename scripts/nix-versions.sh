#!/usr/bin/env bash
# The version lab: Nix releases other than the machine's own (Debian 12's 2.8), each a Debian
# chroot with its nix-bin, openssh-server and openssh-client (the chroot's Nix as a local client
# runs ssh in there), made once and reused from a git-ignored folder.
#   trixie -> Nix 2.26.3, sid -> Nix 2.34.x (sid moves; the ready file records what it holds).
# Usage: scripts/nix-versions.sh [DIR]   (as root; default DIR .nix-versions beside package.json)
# Prints one line per release: `<suite> <nix version> <chroot>`. Needs debootstrap (installed
# here when missing) and Debian's package host, which these machines reach.
# A chroot is used with /proc and /tmp bound into it (scripts/test.mjs does that inside the
# tier's own mount namespace), so `chroot DIR nix-build …` sees the same temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."
lab="${1:-.nix-versions}"
suites=(trixie sid)
# What each chroot holds. A chroot made for another list (its .packages file differs) gets the
# missing ones installed in place, so an older cache is brought up to date without a new bootstrap.
packages="nix-bin openssh-server openssh-client"

mirror() {
  # The mirror apt already uses (deb822 sources first, then the classic list).
  local uri
  uri=$(grep -hoE '^URIs:\s*\S+/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hoE '^deb\s+\S+/debian\s' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

provision() {
  local suite=$1 dir="$lab/$1" update=
  if [ -f "$dir/.ready" ] && [ "$(cat "$dir/.packages" 2>/dev/null)" = "$packages" ]; then return 0; fi
  if [ -f "$dir/.ready" ]; then
    # In place: fresh package lists (the bootstrap's may be gone from the mirror; a mirror snapshot
    # older than this clock has an expired Release, hence no Valid-Until check), and what is
    # installed stays at its version (--no-upgrade), so the chroot's Nix does not move.
    update=1
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    command -v debootstrap >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
    debootstrap --variant=minbase "$suite" "$dir" "$(mirror)" >"$lab/$suite.log" 2>&1
  fi
  # apt inside the chroot needs /proc; bind it in a private mount namespace so nothing stays mounted.
  unshare --mount --propagation private sh -c '
    mount --bind /proc "$1/proc" &&
    { [ -z "$3" ] || chroot "$1" apt-get update -q -o Acquire::Check-Valid-Until=false; } &&
    DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -q --no-install-recommends --no-upgrade $2 &&
    { chroot "$1" getent group nixbld >/dev/null || chroot "$1" groupadd -r nixbld; } &&
    chroot "$1" nix --version | awk "{print \$3}" >"$1/.version"
  ' sh "$dir" "$packages" "$update" >>"$lab/$suite.log" 2>&1
  [ -s "$dir/.version" ] && mv "$dir/.version" "$dir/.ready" && printf '%s\n' "$packages" >"$dir/.packages"
}

mkdir -p "$lab"
pids=()
for suite in "${suites[@]}"; do provision "$suite" & pids+=($!); done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for suite in "${suites[@]}"; do
  if [ -f "$lab/$suite/.ready" ]; then
    echo "$suite $(cat "$lab/$suite/.ready") $(cd "$lab/$suite" && pwd)"
  else
    echo "$suite failed: see $lab/$suite.log" >&2
  fi
done
exit $status
