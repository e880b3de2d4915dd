#!/usr/bin/env bash
# The compiler and build-type matrix, each with -Dwerror=true and the unit
# suite: gcc at debug (-O0 -g) and release (-O3, no -g: abidiff skips), and
# clang at the default debugoptimized. (gcc debugoptimized is .ci/run's
# first job, with the suite's heavy cases; here QML_TEST_QUICK=1 leaves
# them out, see tests/harness.h.) The `locales` package lets test_locale compile a decimal-comma
# locale; the job fails if that test skipped.
# Exit 0 passed, anything else failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get install -y -qq --no-install-recommends \
    meson ninja-build gcc g++ clang libc6-dev libcmocka-dev python3 locales binutils >/dev/null || exit 1

export QML_TEST_QUICK=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
# configuration name, compiler, build type
for config in "gcc-debug gcc g++ debug" "gcc-release gcc g++ release" "clang clang clang++ debugoptimized"; do
    set -- $config
    name=$1 cc=$2 cxx=$3 buildtype=$4
    dir=$tmp/$name
    echo "== $name: CC=$cc -Dbuildtype=$buildtype -Dwerror=true"
    if ! CC=$cc CXX=$cxx meson setup "$dir" "$root" -Dbuildtype="$buildtype" -Dwerror=true \
            -Dbenchmarks=false -Ddocs=disabled -Dmpi=disabled >"$dir.setup.log" 2>&1; then
        cat "$dir.setup.log"; echo "$name: setup failed"; failed=1; continue
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        grep -E "warning|error" "$dir.build.log" | head -40; echo "$name: build failed"; failed=1; continue
    fi
    if ! meson test -C "$dir" --suite unit --suite headers --suite abi --print-errorlogs \
            --num-processes 2 --timeout-multiplier 3; then
        echo "$name: tests failed"; failed=1; continue
    fi
    if ! python3 -c 'import json, sys
sys.exit(0 if any(json.loads(l)["name"].endswith("/ locale") and json.loads(l)["result"] == "OK"
                  for l in open(sys.argv[1])) else 1)' "$dir/meson-logs/testlog.json"; then
        echo "$name: test_locale did not run (no decimal-comma locale?)"; failed=1
    fi
done
exit $failed
