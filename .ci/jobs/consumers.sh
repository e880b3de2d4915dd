#!/usr/bin/env bash
# libqml as other projects use it:
# 1. a Meson subproject of a tiny parent (tests/consumers/subproject) built
#    with the parent's default build type (debug) and -Dwerror=true: only
#    the library is built, at -O2, and the consumer runs;
# 2. an install into a temporary prefix found by CMake through the package
#    configuration (tests/consumers/cmake), shared and static;
# 3. the README's pkg-config recipes against that prefix: an rpath so the
#    program runs without LD_LIBRARY_PATH, and the static archive.
# Exit 0 passed, anything else failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get install -y -qq --no-install-recommends meson ninja-build gcc libc6-dev cmake pkg-config >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
copy_source() { # the checkout without build folders or git metadata
    mkdir -p "$1"
    tar -C "$root" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$1" -xf -
}

echo "== 1. Meson subproject"
parent=$tmp/parent
mkdir -p "$parent/subprojects"
cp "$root/tests/consumers/subproject/meson.build" "$root/pkgconfig/consumer.c" "$parent/"
cp "$root/packaging/libqml.wrap" "$parent/subprojects/"
copy_source "$parent/subprojects/libqml"
meson setup "$parent/build" "$parent" -Dwerror=true
ninja -C "$parent/build"
meson test -C "$parent/build" --print-errorlogs
# Only the library: no test programs, no qml program.
if [ -e "$parent/build/subprojects/libqml/tests" ] || [ -e "$parent/build/subprojects/libqml/examples" ]; then
    echo "the subproject built its tests or examples" >&2
    exit 1
fi
# The library at -O2 although the parent builds at -O0.
if ! grep -q -- '-O2.*lib/statevec.c\|lib/statevec.c.*-O2' "$parent/build/compile_commands.json"; then
    echo "the subproject's library is not built at -O2" >&2
    exit 1
fi

echo "== 2. CMake package configuration"
prefix=$tmp/prefix
meson setup "$tmp/build" "$root" --prefix "$prefix" -Dtests=false -Dexamples=false -Ddocs=disabled
ninja -C "$tmp/build" install
if [ -e "$tmp/build/tests" ]; then
    echo "-Dtests=false still configured the tests" >&2
    exit 1
fi
cmake -S "$root/tests/consumers/cmake" -B "$tmp/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$tmp/cmake"
"$tmp/cmake/consumer_shared"
"$tmp/cmake/consumer_static"
if ldd "$tmp/cmake/consumer_static" | grep -q libqml; then
    echo "the static CMake consumer links libqml.so" >&2
    exit 1
fi

echo "== 3. pkg-config recipes (README)"
pcdir=$(dirname "$(find "$prefix" -name qml.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir qml)
cc -std=c11 -o "$tmp/rpath" "$root/pkgconfig/consumer.c" $(pkg-config --cflags --libs qml) -Wl,-rpath,"$libdir"
env -u LD_LIBRARY_PATH "$tmp/rpath"
cc -std=c11 -o "$tmp/static" "$root/pkgconfig/consumer.c" $(pkg-config --cflags qml) \
    "$libdir/libqml.a" $(pkg-config --libs-only-other --libs-only-l --static qml | sed 's/-lqml//')
"$tmp/static"
echo "consumers ok: Meson subproject, CMake (shared, static), pkg-config (rpath, static)"
