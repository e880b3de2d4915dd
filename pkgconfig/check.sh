#!/bin/sh
# Install libqml into a temporary prefix, then build and run a consumer
# with `cc $(pkg-config --cflags --libs qml)`, shared and --static.
set -eu
build=$1
consumer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --destdir "$tmp/root" --quiet >/dev/null
pcdir=$(dirname "$(find "$tmp/root" -name qml.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
# pkgconf prefixes --variable output with the sysroot already; older
# pkg-config does not: accept either.
libdir=$(pkg-config --variable=libdir qml)
case "$libdir" in "$tmp/root"*) ;; *) libdir="$tmp/root$libdir" ;; esac
cc=${CC:-cc}
$cc -std=c11 -o "$tmp/shared" "$consumer" $(pkg-config --cflags --libs qml)
LD_LIBRARY_PATH="$libdir" "$tmp/shared"
$cc -std=c11 -static-libgcc -o "$tmp/static" "$consumer" $(pkg-config --cflags qml) \
    "$libdir/libqml.a" $(pkg-config --static --libs-only-other --libs-only-l qml | sed 's/-lqml//')
"$tmp/static"
# The static link must not need libqml.so at run time.
if ldd "$tmp/static" | grep -q libqml; then
    echo "static consumer still links libqml.so" >&2
    exit 1
fi
echo "pkg-config consumer ok (shared and static)"
