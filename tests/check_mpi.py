#!/usr/bin/env python3
"""qml-mpi against qml: the same scan dealt over 1, 2 and 3 ranks (more ranks
than cores: --oversubscribe) gives bitwise the numbers of `qml bp --json`;
a failing run exits non-zero on every rank with one clear message and
leaves no output file behind.

usage: check_mpi.py QML QML_MPI MPIRUN WORKDIR
"""
import json
import os
import subprocess
import sys

qml, qml_mpi, mpirun, workdir = sys.argv[1:5]
os.makedirs(workdir, exist_ok=True)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl="self,vader,tcp",
           OMPI_MCA_btl_vader_single_copy_mechanism="none")
failures = []


def rows_of(document):
    """The rows list wherever the writer put it (top level or under 'result')."""
    if "rows" in document:
        return document["rows"], document.get("fit")
    for key in ("result", "data"):
        if key in document and "rows" in document[key]:
            return document[key]["rows"], document[key].get("fit")
    raise KeyError("no rows in the JSON document")


def mpi(np, args, check=True):
    command = [mpirun, "--oversubscribe", "-np", str(np), qml_mpi, "bp"] + args
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        failures.append("%s exited %d: %s" % (" ".join(command), result.returncode, result.stderr[-2000:]))
    return result


cases = [
    ["--ansatz", "hea", "--qubits", "2-5", "--samples", "41", "--seed", "3"],
    ["--ansatz", "tfim", "--qubits", "3-6", "--samples", "17", "--param", "all", "--layers", "4"],
    ["--ansatz", "sn", "--qubits", "3-5", "--samples", "9", "--quantity", "loss", "--layers", "3"],
]
for args in cases:
    plain = subprocess.run([qml, "bp", "--json", "--threads", "2"] + args, capture_output=True, text=True,
                           timeout=600)
    if plain.returncode != 0:
        failures.append("qml bp %s: %s" % (args, plain.stderr))
        continue
    want_rows, want_fit = rows_of(json.loads(plain.stdout))
    for np in (1, 2, 3):
        result = mpi(np, ["--json", "--threads", "1"] + args)
        if result.returncode != 0:
            continue
        got_rows, got_fit = rows_of(json.loads(result.stdout))
        if len(got_rows) != len(want_rows):
            failures.append("np %d %s: %d rows, want %d" % (np, args, len(got_rows), len(want_rows)))
            continue
        for want, got in zip(want_rows, got_rows):
            for key in ("n", "layers", "samples", "var_measured", "var_stderr", "var_predicted"):
                if want.get(key) != got.get(key):
                    failures.append("np %d %s row n=%s: %s %r != %r" % (np, args, want["n"], key, got.get(key),
                                                                       want.get(key)))
        if (want_fit is None) != (got_fit is None):
            failures.append("np %d %s: fit presence differs" % (np, args))
        elif want_fit is not None:
            for key in ("model", "rate", "rate_stderr"):
                if want_fit.get(key) != got_fit.get(key):
                    failures.append("np %d %s fit %s: %r != %r" % (np, args, key, got_fit.get(key),
                                                                 want_fit.get(key)))
    print("ok: %s on 1, 2, 3 ranks" % " ".join(args))

# A failure on the ranks: an observable outside the register. Every rank
# stops, one message, exit non-zero, and --out is not written.
out = os.path.join(workdir, "never.json")
if os.path.exists(out):
    os.remove(out)
bad = mpi(3, ["--qubits", "2-3", "--samples", "6", "--observable", "Z7", "--out", out], check=False)
if bad.returncode == 0:
    failures.append("a failing scan exited 0")
if bad.stderr.count("qml-mpi:") != 1 or "Z7" not in bad.stderr and "qubit" not in bad.stderr:
    failures.append("a failing scan should print one clear message, got: %r" % bad.stderr)
if os.path.exists(out) or os.path.exists(out + ".partial"):
    failures.append("a failing scan left an output file")
usage = mpi(2, ["--samples", "1"], check=False)
if usage.returncode != 2 or usage.stderr.count("qml-mpi:") != 1:
    failures.append("a usage error should exit 2 with one message, got %d: %r" % (usage.returncode, usage.stderr))
good = mpi(2, ["--qubits", "2-3", "--samples", "6", "--json", "--out", out])
if good.returncode == 0 and not os.path.exists(out):
    failures.append("--out was not written")

for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
