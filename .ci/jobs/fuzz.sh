#!/usr/bin/env bash
# libFuzzer + ASan + UBSan on every harness in tests/fuzz (clang, meson
# option fuzzers), each for FUZZ_SECONDS (default 45) from its seed corpus
# in tests/fuzz/corpus/NAME. Any finding (crash, sanitizer report, broken
# round trip, timeout, memory blow-up) fails the job; the input that found it
# is left in build-fuzz-ci/ as crash-*, timeout-* or oom-*: add it to the
# corpus once fixed. Exit 0 passed, else failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get install -y -qq --no-install-recommends \
    clang llvm libclang-rt-14-dev meson ninja-build libcmocka-dev pkg-config python3 >/dev/null \
    || { echo "fuzz: apt-get install failed"; exit 1; }

seconds=${FUZZ_SECONDS:-45}
build=build-fuzz-ci
rm -rf "$build"
mkdir -p "$build"
CC=clang meson setup "$build" -Dfuzzers=true -Dexamples=false -Dbenchmarks=false -Ddocs=disabled \
    -Db_lundef=false -Dbuildtype=debugoptimized >"$build/setup.log" 2>&1 \
    || { cat "$build/setup.log"; echo "fuzz: meson setup failed"; exit 1; }
targets=$(ninja -C "$build" -t targets all | sed -n 's|^\(tests/fuzz/fuzz_[a-z0-9_]*\): .*|\1|p' | sort -u)
[ -n "$targets" ] || { echo "fuzz: no harness to build"; exit 1; }
ninja -C "$build" $targets >"$build/ninja.log" 2>&1 || { tail -n 40 "$build/ninja.log"; echo "fuzz: build failed"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
for target in $targets; do
    name=${target##*/fuzz_}
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    seeds=tests/fuzz/corpus/$name
    [ -d "$seeds" ] || seeds=""
    "$build/$target" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$build/$name-" "$corpus" $seeds >"$build/$name.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$name.log")
    if [ $rc -eq 0 ]; then
        echo "fuzz: $name: ${runs:-?} executions in ${seconds} s, no finding"
    else
        echo "fuzz: $name: FINDING (exit $rc) after ${runs:-?} executions:"
        grep -E 'ERROR|promise broken|runtime error|SUMMARY|Test unit written' "$build/$name.log" | head -n 20
        status=1
    fi
done
exit $status
