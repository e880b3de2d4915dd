#!/usr/bin/env python3
"""qml-mpi against qml: the same scan dealt over 1, 2 and 3 ranks (more ranks
than cores: --oversubscribe), and over more ranks than samples, gives
bitwise the numbers of `qml bp --json`;
`qml-mpi paradox --quick` on 1, 2 and 3 ranks writes the CSV files of
`qml paradox --quick` with the same seed byte for byte, apart from the
columns named in TIMING (wall times); a failing run exits non-zero on every
rank with one clear message and leaves no output file behind.

usage: check_mpi.py QML QML_MPI MPIRUN WORKDIR
"""
import csv
import json
import os
import shutil
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


# (options, rank counts): the last case has more ranks than a row has
# samples (3) and than rows (2): (row, sample range) pieces, some ranks idle.
cases = [
    (["--ansatz", "hea", "--qubits", "2-5", "--samples", "41", "--seed", "3"], (1, 2, 3)),
    (["--ansatz", "tfim", "--qubits", "3-6", "--samples", "17", "--param", "all", "--layers", "4"], (1, 2, 3)),
    (["--ansatz", "sn", "--qubits", "3-5", "--samples", "9", "--quantity", "loss", "--layers", "3"], (1, 2, 3)),
    (["--ansatz", "hea", "--qubits", "4-5", "--samples", "3", "--seed", "8"], (4, 7)),
]
for args, rank_counts in cases:
    plain = subprocess.run([qml, "bp", "--json", "--threads", "2"] + args, capture_output=True, text=True,
                           timeout=600)
    if plain.returncode != 0:
        failures.append("qml bp %s: %s" % (args, plain.stderr))
        continue
    want_rows, want_fit = rows_of(json.loads(plain.stdout))
    for np in rank_counts:
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
    print("ok: %s on %s ranks" % (" ".join(args), ", ".join(map(str, rank_counts))))

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

# ---- paradox -------------------------------------------------------------------
# The only columns that may differ are timings: the wall time of a row
# ("seconds" in every table) and cost.csv's measured medians and the
# repetitions their timing loop chose. Every other byte of every CSV file
# the plain program writes must be the same.
TIMING = {"seconds", "seconds_gradient", "seconds_step", "reps_gradient", "reps_step"}
STUDY = ["--quick", "--threads", "1", "--seed", "3"]


def table_without_timing(path):
    """The file's lines with the TIMING columns cut out (fields are plain:
    the study writes no quoted commas, which csv.reader would tell)."""
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name not in TIMING]
    rows = list(csv.reader(lines))
    if any(len(row) != len(line.split(",")) for row, line in zip(rows, lines) if line):
        raise ValueError("%s has quoted fields" % path)
    return "\n".join(",".join(line.split(",")[i] for i in keep) if line else line for line in lines)


def study_on_ranks(name, study, rank_counts, check_report):
    plain_dir = os.path.join(workdir, name + "-plain")
    shutil.rmtree(plain_dir, ignore_errors=True)
    plain = subprocess.run([qml, "paradox", "--out", plain_dir] + study, capture_output=True, text=True,
                           timeout=600)
    if plain.returncode != 0:
        failures.append("qml paradox %s: %s" % (" ".join(study), plain.stderr[-2000:]))
        return plain_dir
    tables = sorted(f for f in os.listdir(plain_dir) if f.endswith(".csv"))
    for np in rank_counts:
        out_dir = os.path.join(workdir, "%s-np%d" % (name, np))
        shutil.rmtree(out_dir, ignore_errors=True)
        command = [mpirun, "--oversubscribe", "-np", str(np), qml_mpi, "paradox", "--out", out_dir] + study
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            failures.append("%s exited %d: %s" % (" ".join(command), result.returncode, result.stderr[-2000:]))
            continue
        got_tables = sorted(f for f in os.listdir(out_dir) if f.endswith(".csv"))
        if got_tables != tables:
            failures.append("paradox np %d %s: CSV files %s, the plain run wrote %s" % (np, name, got_tables, tables))
        for table in tables:
            if table not in got_tables:
                continue
            want = table_without_timing(os.path.join(plain_dir, table))
            got = table_without_timing(os.path.join(out_dir, table))
            if got != want:
                diff = [(a, b) for a, b in zip(want.split("\n"), got.split("\n")) if a != b][:2]
                failures.append("paradox np %d %s: %s differs from the plain run's (%d vs %d lines; first: %r)"
                                % (np, name, table, got.count("\n"), want.count("\n"), diff))
        if result.stderr.count("rows dealt over") != 1:
            failures.append("paradox np %d: progress should come from rank 0 only: %r" % (np, result.stderr[:500]))
        if check_report:
            # Every verdict and table of the report recomputed from the gathered CSVs.
            check = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                 "check_paradox.py"), "--check-only", out_dir],
                                   capture_output=True, text=True, timeout=600)
            if check.returncode != 0:
                failures.append("check_paradox.py --check-only on %s: %s" % (out_dir, check.stdout[-2000:]))
    print("ok: paradox %s on %s ranks: %s" % (" ".join(study), ", ".join(map(str, rank_counts)), " ".join(tables)))
    return plain_dir


plain_dir = study_on_ranks("paradox", STUDY, (1, 2, 3), False)
# The long mode's large-n stage cut down (large.csv, c1_large.csv, cost.csv
# too; n = 16 as the paradox-large test), on 3 ranks, with its report checked.
study_on_ranks("paradox-large", STUDY + ["--qubits-large", "16", "--backend", "auto"], (3,), True)

# A rank other than 0 fails (the test hook QML_MPI_TEST_FAIL_RANK): every
# rank stops, the run exits non-zero with that rank's message, and no CSV
# is written (the folder holds options.txt only).
fail_dir = os.path.join(workdir, "paradox-fail")
shutil.rmtree(fail_dir, ignore_errors=True)
command = [mpirun, "--oversubscribe", "-np", "3", "-x", "QML_MPI_TEST_FAIL_RANK", qml_mpi, "paradox", "--out",
           fail_dir] + STUDY
bad = subprocess.run(command, capture_output=True, text=True, env=dict(env, QML_MPI_TEST_FAIL_RANK="1"), timeout=600)
if bad.returncode == 0:
    failures.append("a paradox run with a failing rank exited 0")
if "rank 1 fails" not in bad.stderr or "no CSV file was written" not in bad.stderr:
    failures.append("a paradox run with a failing rank should say which and that nothing was written: %r"
                    % bad.stderr[-2000:])
left = sorted(os.listdir(fail_dir)) if os.path.isdir(fail_dir) else []
if [name for name in left if name != "options.txt"]:
    failures.append("a paradox run with a failing rank left files: %s" % left)
resume = subprocess.run([mpirun, "--oversubscribe", "-np", "2", qml_mpi, "paradox", "--resume",
                         plain_dir], capture_output=True, text=True, env=env, timeout=600)
if resume.returncode != 2 or resume.stderr.count("cannot --resume") != 1:
    failures.append("qml-mpi paradox --resume should be one usage error, got %d: %r"
                    % (resume.returncode, resume.stderr[-2000:]))

for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
