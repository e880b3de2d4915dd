#!/usr/bin/env bash
# MPI: install Open MPI, build qml-mpi (-Dmpi=enabled: a missing MPI is an
# error here, not a skip), and run the rank tests (1, 2 and 3 ranks on one
# machine give bitwise the numbers of the plain program).
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq --no-install-recommends libopenmpi-dev openmpi-bin python3 >/dev/null
rm -rf build-ci-mpi
meson setup build-ci-mpi -Dmpi=enabled -Dwerror=true -Dbenchmarks=false
ninja -C build-ci-mpi
meson test -C build-ci-mpi --suite mpi --print-errorlogs
