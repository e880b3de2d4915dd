#!/usr/bin/env bash
# The API reference: `ninja -C build docs` builds it with no Doxygen warning,
# and no page names the build machine's folders.
# Exit 0 passed, anything else failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get install -y -qq --no-install-recommends meson ninja-build gcc libc6-dev doxygen >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson setup "$tmp/build" "$root" -Ddocs=enabled -Dtests=false -Dexamples=false
ninja -C "$tmp/build" docs
log=$tmp/build/docs/doxygen-warnings.log
if [ -s "$log" ]; then
    echo "Doxygen warnings:"; cat "$log"; exit 1
fi
[ -f "$tmp/build/docs/html/index.html" ] || { echo "no index.html"; exit 1; }
if grep -rl -e "$root" -e "$tmp" "$tmp/build/docs/html" | head -5 | grep .; then
    echo "the pages above name the build machine's folders"; exit 1
fi
echo "docs ok: no warnings, no absolute paths"
