#!/usr/bin/env bash
# ThreadSanitizer over the unit suite (clang): any data race fails the job.
# clang 14's TSan does not intercept glibc's C11 thrd_create or mtx_lock, so
# tests/tsan/threads_shim.c (C11 threads on pthreads) is linked into every
# program of this build. Exit 0 passed, 77 skipped, else failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get install -y -qq --no-install-recommends \
    clang llvm libclang-rt-14-dev meson ninja-build libcmocka-dev pkg-config python3 >/dev/null \
    || { echo "tsan: apt-get install failed"; exit 1; }

build=build-tsan
rm -rf "$build"
mkdir -p "$build"
shim="$PWD/$build/threads_shim.o"
# Not instrumented itself (meson links it into its compiler sanity check,
# which has no -fsanitize): TSan intercepts the pthread calls it makes.
clang -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fPIC -c tests/tsan/threads_shim.c -o "$shim" \
    || { echo "tsan: the thread shim does not build"; exit 1; }

start=$(date +%s)
CC=clang meson setup "$build" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized \
    -Dexamples=false -Dbenchmarks=false -Ddocs=disabled -Dc_link_args="$shim" >"$build/setup.log" 2>&1 \
    || { cat "$build/setup.log"; echo "tsan: meson setup failed"; exit 1; }
ninja -C "$build" >"$build/ninja.log" 2>&1 || { tail -n 40 "$build/ninja.log"; echo "tsan: build failed"; exit 1; }

# The shim must have replaced the C11 calls: a program that starts threads
# through it shows thrd_create as its own (text) symbol.
if ! nm "$build/tests/test_core" | grep -q ' T thrd_create$'; then
    echo "tsan: thrd_create is not taken by the shim; TSan would see no threads"
    exit 1
fi

export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4"
# the heavy single-threaded cases run in the plain build (tests/harness.h)
export QML_TEST_QUICK=1
meson test -C "$build" --suite unit --print-errorlogs --num-processes 2 --timeout-multiplier 10
status=$?
echo "tsan: unit suite under ThreadSanitizer: exit $status in $(( $(date +%s) - start )) s"
exit $status
