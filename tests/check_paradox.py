#!/usr/bin/env python3
"""check_paradox.py QML OUTDIR: run `QML paradox --quick --out OUTDIR` and
check its outputs: every file exists and parses (CSV columns, SVG as XML,
report.md with its table), numbers are in range (accuracies in [0, 1],
variances > 0, dimensions >= 1, weight counts equal their formulas), the
summary agrees with the per-run rows, the depth study (depth.csv, the
depth table and figures) is complete and starts at the L = n measurement,
the closed-form predictions equal the ones computed here and lie.c's where
the DLA is computed, and a run on two threads gives the same numbers as a
run on one."""
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET

MODELS = ("unstructured", "permutation", "free-fermion")


def fail(message):
    print("check_paradox: FAIL: " + message)
    sys.exit(1)


def weights(model, n, layers):
    return {"unstructured": 2 * n * layers, "permutation": 3 * layers, "free-fermion": (2 * n - 1) * layers}[model]


def closed_form_dim(model, n):
    if model == "unstructured":
        return 4 ** n - 1
    if model == "permutation":
        # 1 + sum over J = n/2, n/2 - 1, ... >= 0 of (2J + 1)^2 - 1 (j2 = 2J)
        return 1 + sum((j2 + 1) ** 2 - 1 for j2 in range(n, -1, -2))
    return n * (2 * n - 1)


def closed_form_mid(model, n):
    """Fontana et al.'s middle-gate Var[dl/dw] in closed form (docs/paradox.md)."""
    if model == "unstructured":
        d = 2.0 ** n
        return d * d / (2 * (d - 1) * (d + 1) ** 2)
    if model == "permutation":
        # the middle weight (3L/2 with L = n even) is the two-body gate,
        # G = S_Z^2 / n - 1 on the symmetric sector: eigenvalues m^2 / n
        a = [m * m / n for m in range(-n, n + 1, 2)]
        kappa = sum((x - y) ** 2 for x in a for y in a)
        return kappa / (12 * n * n * (n + 2))
    return math.nan


def closed_form_loss(model, n):
    return {"unstructured": 1 / (2 ** n + 1), "permutation": 1 / (3 * n)}.get(model, math.nan)


def read_csv(path, columns):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        fail(f"{path}: no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        fail(f"{path}: missing columns {missing}")
    return rows


def number(row, key, path):
    try:
        return float(row[key])
    except (TypeError, ValueError):
        fail(f"{path}: {key} = {row.get(key)!r} is not a number")


def main():
    if len(sys.argv) != 3:
        fail("usage: check_paradox.py QML OUTDIR")
    qml, out = sys.argv[1], sys.argv[2]
    # Two runs, one and two threads: the numbers must be the same bits.
    out_other = out + "-threads2"
    for directory, threads in ((out, "1"), (out_other, "2")):
        shutil.rmtree(directory, ignore_errors=True)
        run = subprocess.run([qml, "paradox", "--quick", "--out", directory, "--threads", threads],
                             capture_output=True, text=True, timeout=50)
        if run.returncode != 0:
            fail(f"qml paradox exited {run.returncode}: {run.stderr.strip()}")
        if "report.md" not in run.stdout:
            fail(f"the command does not say where the report is: {run.stdout!r}")
    timing = {"seconds", "seconds_per_run", "landscape_seconds", "dla_seconds"}
    for name in ("results.csv", "summary.csv", "curves.csv", "depth.csv"):
        with open(os.path.join(out, name), newline="") as f1, open(os.path.join(out_other, name), newline="") as f2:
            a, b = list(csv.DictReader(f1)), list(csv.DictReader(f2))
        if len(a) != len(b) or any(x[k] != y[k] for x, y in zip(a, b) for k in x if k not in timing):
            fail(f"{name} differs between 1 and 2 threads")

    names = ["report.md", "results.csv", "summary.csv", "curves.csv", "depth.csv", "variance.svg",
             "loss_variance.svg", "accuracy.svg", "dla.svg", "depth.svg", "depth_loss.svg",
             "deep_variance.svg"] + [f"curve_{m}.svg" for m in MODELS]
    for name in names:
        path = os.path.join(out, name)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            fail(f"{path} is missing or empty")

    for name in names:
        if name.endswith(".svg"):
            path = os.path.join(out, name)
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as e:
                fail(f"{path}: not well-formed XML: {e}")
            if not root.tag.endswith("svg"):
                fail(f"{path}: root element is {root.tag}")
            if not any(el.tag.endswith(("polyline", "circle")) for el in root.iter()):
                fail(f"{path}: no data drawn")

    results_path = os.path.join(out, "results.csv")
    runs = read_csv(results_path, ["model", "n_qubits", "layers", "n_weights", "run", "seed", "train_accuracy",
                                   "test_accuracy", "train_loss", "test_loss", "seconds"])
    for r in runs:
        if r["model"] not in MODELS:
            fail(f"{results_path}: unknown model {r['model']}")
        n, layers = int(r["n_qubits"]), int(r["layers"])
        if int(r["n_weights"]) != weights(r["model"], n, layers):
            fail(f"{results_path}: {r['model']} n={n} has {r['n_weights']} weights")
        for key in ("train_accuracy", "test_accuracy"):
            v = number(r, key, results_path)
            if not 0.0 <= v <= 1.0:
                fail(f"{results_path}: {key} = {v}")
        for key in ("train_loss", "test_loss", "seconds"):
            v = number(r, key, results_path)
            if not (v >= 0.0 and math.isfinite(v)):
                fail(f"{results_path}: {key} = {v}")

    summary_path = os.path.join(out, "summary.csv")
    cells = read_csv(summary_path, ["model", "n_qubits", "layers", "n_weights", "n_params", "dla_dim", "dla_source",
                                    "dla_closed_form", "var_loss", "var_loss_stderr", "var_loss_predicted",
                                    "var_grad_mid", "var_grad_mid_stderr", "var_grad_mid_predicted", "var_grad_mean",
                                    "var_grad_mean_stderr", "train_accuracy_mean", "train_accuracy_sd",
                                    "test_accuracy_mean", "test_accuracy_sd", "seconds_per_run",
                                    "var_loss_predicted_source", "var_grad_mid_predicted_source",
                                    "var_loss_closed_form", "var_grad_mid_closed_form", "var_loss_lie",
                                    "var_grad_mid_lie", "light_cone_layers", "deep_layers", "deep_var_loss",
                                    "deep_var_loss_stderr", "deep_var_grad_mid", "deep_var_grad_mid_stderr"])
    depth_path = os.path.join(out, "depth.csv")
    depth = read_csv(depth_path, ["model", "n_qubits", "layers", "n_weights", "var_loss", "var_loss_stderr",
                                  "var_grad_mid", "var_grad_mid_stderr", "var_loss_predicted",
                                  "var_grad_mid_predicted", "seconds"])
    if len(cells) != 3 * 2:
        fail(f"{summary_path}: {len(cells)} rows, expected 3 models x 2 qubit counts")
    for c in cells:
        model, n, layers = c["model"], int(c["n_qubits"]), int(c["layers"])
        if layers != n:
            fail(f"{summary_path}: {model} n={n} has {layers} layers, not n")
        if int(c["n_weights"]) != weights(model, n, layers) or int(c["n_params"]) != int(c["n_weights"]) + 2:
            fail(f"{summary_path}: {model} n={n}: parameter counts {c['n_weights']}, {c['n_params']}")
        dim = int(c["dla_dim"])
        if dim < 1 or int(c["dla_closed_form"]) != closed_form_dim(model, n):
            fail(f"{summary_path}: {model} n={n}: DLA {dim}, closed form {c['dla_closed_form']}")
        if c["dla_source"] not in ("computed", "closed form"):
            fail(f"{summary_path}: dla_source {c['dla_source']!r}")
        if c["dla_source"] == "computed" and dim != int(c["dla_closed_form"]):
            fail(f"{summary_path}: {model} n={n}: computed DLA {dim} differs from the closed form")
        for key in ("var_loss", "var_grad_mid", "var_grad_mean", "var_loss_stderr", "var_grad_mid_stderr",
                    "var_grad_mean_stderr"):
            v = number(c, key, summary_path)
            if not (v > 0.0 and math.isfinite(v)):
                fail(f"{summary_path}: {model} n={n}: {key} = {v}")
        for key in ("var_loss_predicted", "var_grad_mid_predicted"):
            v = number(c, key, summary_path)
            if not (math.isnan(v) or v > 0.0):
                fail(f"{summary_path}: {model} n={n}: {key} = {v}")
        # Where both exist the prediction and the measurement agree to an
        # order of magnitude (a loose sanity bound, not a physics test).
        pred, meas = number(c, "var_loss_predicted", summary_path), number(c, "var_loss", summary_path)
        if math.isfinite(pred) and not 0.1 < meas / pred < 10.0:
            fail(f"{summary_path}: {model} n={n}: Var[l] {meas} against predicted {pred}")
        # Closed forms: recomputed here, and equal to lie.c's where it ran.
        for kind, cf in (("loss", closed_form_loss(model, n)), ("grad_mid", closed_form_mid(model, n))):
            mine_cf = number(c, f"var_{kind}_closed_form", summary_path)
            if math.isnan(cf) != math.isnan(mine_cf) or (not math.isnan(cf) and abs(mine_cf - cf) > 1e-12 * cf):
                fail(f"{summary_path}: {model} n={n}: var_{kind}_closed_form {mine_cf}, expected {cf}")
            lie = number(c, f"var_{kind}_lie", summary_path)
            if not math.isnan(cf) and not math.isnan(lie) and abs(lie - cf) > 1e-9 * cf:
                fail(f"{summary_path}: {model} n={n}: closed form {cf} differs from lie.c's {lie}")
            source = c[f"var_{kind}_predicted_source"]
            if source not in ("computed", "closed form", "none"):
                fail(f"{summary_path}: var_{kind}_predicted_source {source!r}")
            predicted = number(c, f"var_{kind}_predicted", summary_path)
            expected = {"computed": lie, "closed form": cf, "none": math.nan}[source]
            if not (math.isnan(predicted) and math.isnan(expected)) and predicted != expected:
                fail(f"{summary_path}: {model} n={n}: var_{kind}_predicted {predicted} is not its {source} value")
        if model == "unstructured" and c["dla_source"] == "computed" and math.isnan(number(c, "var_grad_mid_lie",
                                                                                           summary_path)):
            fail(f"{summary_path}: unstructured n={n}: the DLA is computed but lie.c's gradient prediction is missing")
        cone = int(c["light_cone_layers"])
        if model == "unstructured" and cone != n - 1:
            fail(f"{summary_path}: unstructured n={n}: light cone of Z_0 covers all qubits after {cone} layers, "
                 f"expected n - 1 (one qubit per layer along the CZ ladder)")
        # The depth ladder: L = n first (the main measurement), then deeper.
        rungs = [r for r in depth if r["model"] == model and int(r["n_qubits"]) == n]
        layers_seen = [int(r["layers"]) for r in rungs]
        if len(rungs) < 2 or layers_seen[0] != n or layers_seen != sorted(set(layers_seen)):
            fail(f"{depth_path}: {model} n={n}: depth ladder {layers_seen}")
        if int(c["deep_layers"]) != layers_seen[-1]:
            fail(f"{summary_path}: {model} n={n}: deep_layers {c['deep_layers']} is not the last rung")
        for key in ("var_loss_predicted", "var_grad_mid_predicted"):
            a, b = number(rungs[0], key, depth_path), number(c, key, summary_path)
            if not (math.isnan(a) and math.isnan(b)) and a != b:
                fail(f"{depth_path}: {model} n={n}: the L = n rung's {key} is not the main table's")
        for key in ("var_loss", "var_grad_mid"):
            if number(rungs[0], key, depth_path) != number(c, key, summary_path):
                fail(f"{depth_path}: {model} n={n}: the L = n rung's {key} is not the main measurement")
            if number(rungs[-1], key, depth_path) != number(c, "deep_" + key, summary_path):
                fail(f"{summary_path}: {model} n={n}: deep_{key} is not the deepest rung's")
        for r in rungs:
            if int(r["n_weights"]) != weights(model, n, int(r["layers"])):
                fail(f"{depth_path}: {model} n={n} L={r['layers']}: {r['n_weights']} weights")
            for key in ("var_loss", "var_loss_stderr", "var_grad_mid", "var_grad_mid_stderr"):
                v = number(r, key, depth_path)
                if not (v > 0.0 and math.isfinite(v)):
                    fail(f"{depth_path}: {model} n={n} L={r['layers']}: {key} = {v}")
            if number(r, "var_loss", depth_path) > 1.0:
                fail(f"{depth_path}: {model} n={n}: Var[l] above 1 for |<O>| <= 1")
        mine = [r for r in runs if r["model"] == model and int(r["n_qubits"]) == n]
        if len(mine) < 1:
            fail(f"{results_path}: no runs for {model} n={n}")
        train = [float(r["train_accuracy"]) for r in mine]
        if abs(statistics.mean(train) - number(c, "train_accuracy_mean", summary_path)) > 1e-12:
            fail(f"{summary_path}: {model} n={n}: mean train accuracy does not match the runs")
        if len(train) > 1 and abs(statistics.stdev(train) - number(c, "train_accuracy_sd", summary_path)) > 1e-12:
            fail(f"{summary_path}: {model} n={n}: train accuracy sd does not match the runs")
        for key in ("train_accuracy_mean", "test_accuracy_mean"):
            v = number(c, key, summary_path)
            if not 0.0 <= v <= 1.0:
                fail(f"{summary_path}: {key} = {v}")

    curves_path = os.path.join(out, "curves.csv")
    curves = read_csv(curves_path, ["model", "n_qubits", "run", "epoch", "train_loss", "train_accuracy",
                                    "test_loss", "test_accuracy"])
    for r in curves:
        for key in ("train_accuracy", "test_accuracy"):
            if not 0.0 <= number(r, key, curves_path) <= 1.0:
                fail(f"{curves_path}: {key} out of range")

    report_path = os.path.join(out, "report.md")
    with open(report_path) as f:
        report = f.read()
    for heading in ("## Setup", "## Results", "### Depth study", "## Findings", "## Against the paper's claims",
                    "## Limitations"):
        if heading not in report:
            fail(f"{report_path}: no '{heading}' section")
    # Tables: consecutive lines starting with '|'.
    tables, current = [], []
    for line in report.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    expected = [2 + len(cells), 2 + len(depth)]
    if [len(t) for t in tables] != expected:
        fail(f"{report_path}: tables of {[len(t) for t in tables]} lines, expected {expected}")
    for table in tables:
        if any(line.count("|") != table[0].count("|") for line in table):
            fail(f"{report_path}: ragged table")
    closed = any(c[f"var_{k}_predicted_source"] == "closed form" for c in cells for k in ("loss", "grad_mid"))
    if closed != ("(cf)" in "\n".join(tables[0])):
        fail(f"{report_path}: '(cf)' marks do not match the closed-form predictions")
    if "Closed forms against lie.c" not in report or "**they disagree**" in report:
        fail(f"{report_path}: the closed forms are not confirmed against lie.c")
    print(f"check_paradox: ok ({len(runs)} runs, {len(cells)} cells, {len(depth)} depth rungs, {len(names)} files)")


if __name__ == "__main__":
    main()
