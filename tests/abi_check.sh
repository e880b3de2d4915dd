#!/bin/sh
# abidiff the freshly built libqml.so against the committed baseline
# (docs/abi.md says how and when the baseline is regenerated). Any non-zero
# exit of abidiff fails: 4 is an ABI change, bit 8 an incompatible one.
set -u
src=$1
lib=$2
baseline=$src/tests/abi/libqml.abi
if [ ! -f "$baseline" ]; then
    echo "no ABI baseline at $baseline (docs/abi.md: generate it with abidw)" >&2
    exit 1
fi
# Without debug info abidiff compares nothing (and says so by failing):
# skip (exit 77, which Meson reports as SKIP) rather than pass or fail; the
# default debugoptimized build and CI's first job have -g.
if ! readelf -S "$lib" | grep -q debug_info; then
    echo "$lib has no debug info: abidiff needs a build with -g (e.g. -Dbuildtype=debugoptimized); skipped" >&2
    exit 77
fi
abidiff --headers-dir2 "$src/include" --drop-private-types "$baseline" "$lib"
status=$?
[ $status -eq 0 ] || echo "abidiff exit status $status: the ABI changed; see docs/abi.md" >&2
exit $status
