#!/usr/bin/env python3
"""check_paradox.py QML OUTDIR: run `QML paradox --quick` and check it;
check_paradox.py --check-only DIR: check the folder of any finished run.

- A run on one thread and one on two threads write the same CSV rows
  (timing columns aside), and an interrupted run picked up with --resume
  ends with the same rows as an uninterrupted one.
- Every output exists and parses; every figure the report embeds is in the
  folder; the report holds no absolute path and names no file the folder or
  the repository lacks.
- Every verdict (verdicts.csv and the report's verdict table) and every
  table row of the report is recomputed here from the CSV files, with the
  criteria written out again below; any difference fails.
"""
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

TIMING = {"seconds", "seconds_gradient", "seconds_step", "reps_gradient", "reps_step"}
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
KIND_ORDER = ["unstructured", "permutation", "free-fermion", "permutation-local", "permutation-bounded"]
PER_LAYER = {"unstructured": lambda n: 2 * n, "free-fermion": lambda n: 2 * n - 1}


def fail(message):
    print("check_paradox: FAIL: " + message)
    sys.exit(1)


def t975(dof):
    return T975[dof - 1] if 1 <= dof <= 30 else 1.96


def wilson(k, m):
    if m == 0:
        return 0.0, 1.0
    z = 1.959963984540054
    p = k / m
    denom = 1 + z * z / m
    centre = (p + z * z / (2 * m)) / denom
    half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(x):
    if not x:
        return math.nan, math.nan, math.nan
    mean = sum(x) / len(x)
    if len(x) < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1))
    half = t975(len(x) - 1) * sd / math.sqrt(len(x))
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def ci(mean, lo, hi):
    return "-" if not math.isfinite(mean) else f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def g3(v):
    return "-" if not math.isfinite(v) else f"{v:.3g}"


def se_text(v, se):
    return "-" if not math.isfinite(v) else f"{v:.3g} ± {se:.2g}"


def run(qml, out, *args, timeout=120):
    r = subprocess.run([qml, "paradox", *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        fail(f"qml paradox {' '.join(args)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


def load(out, name):
    path = os.path.join(out, name)
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    try:
        return float(row[key])
    except (TypeError, ValueError, KeyError):
        fail(f"{key} = {row.get(key)!r} is not a number")


def same_rows(a_dir, b_dir, what):
    for name in ("landscape.csv", "c1.csv", "c2.csv", "c3.csv", "baselines.csv"):
        a, b = load(a_dir, name), load(b_dir, name)
        key = lambda r: tuple(v for k, v in r.items() if k not in TIMING)
        if sorted(map(key, a)) != sorted(map(key, b)):
            fail(f"{name} differs {what}")


# ---- the verdicts, recomputed ------------------------------------------------------------------

def c1_cells(rows):
    cells = {}
    for r in rows:
        c = cells.setdefault((r["model"], int(r["n_qubits"]), int(r["shots"])), [0, 0, 0.0, 0.0])
        c[0] += int(r["success"])
        c[1] += 1
        c[2] += num(r, "train_accuracy")
        c[3] += num(r, "test_accuracy")
        if int(r["success"]) != (num(r, "train_accuracy") >= 0.9):
            fail(f"c1.csv: success {r['success']} does not follow from train accuracy {r['train_accuracy']}")
    return cells


def exact_ok(cells, model, n):
    """Exact-gradient training of the model at n succeeds (>= 1/2): only then is a failure the plateau's."""
    c = cells.get((model, n, 0))
    return bool(c) and 2 * c[0] >= c[1]


def c1_fail(cells, qubits, model, shots):
    for n in qubits:
        c = cells.get((model, n, shots))
        if c and 2 * c[0] < c[1] and exact_ok(cells, model, n):
            return n
    return 0


def c1_verdicts(rows, batch):
    cells = c1_cells(rows)
    qubits = sorted({k[1] for k in cells})
    models = sorted({k[0] for k in cells}, key=KIND_ORDER.index)
    shots = sorted({k[2] for k in cells})
    finite = [s for s in shots if s]
    support = refute = False
    for s in finite:
        nu = c1_fail(cells, qubits, "unstructured", s)
        all_ok, tested = nu != 0, False
        for m in models:
            if m == "unstructured":
                continue
            np_ = c1_fail(cells, qubits, m, s)
            if np_ and (not nu or np_ < nu):
                refute = True
            if not nu:
                continue
            def pool(model, i):
                return sum(c[i] for k, c in cells.items()
                           if k[0] == model and k[2] == s and k[1] >= nu and exact_ok(cells, model, k[1]))
            kp, mp, ku, mu = pool(m, 0), pool(m, 1), pool("unstructured", 0), pool("unstructured", 1)
            if not mp:
                continue
            tested = True
            lp, _ = wilson(kp, mp)
            _, hu = wilson(ku, mu)
            all_ok = all_ok and (not np_ or np_ > nu) and lp > hu
        support = support or (all_ok and tested)
    a = "refuted" if refute else "supported" if support else "inconclusive"
    beyond = qubits[-1] + 2 if qubits else 0
    nf = [c1_fail(cells, qubits, "unstructured", s) or beyond for s in finite]
    if len(finite) < 2 or all(v == beyond for v in nf):
        b = "inconclusive"
    else:
        decreasing = any(nf[i] < nf[i - 1] for i in range(1, len(nf)))
        gaps = [qubits[i] - qubits[i - 1] for i in range(1, len(qubits))]
        spacing = min(gaps) if gaps else 0
        shift = math.log2(finite[-1] / finite[0])
        if decreasing or (nf[-1] == nf[0] and spacing and shift >= 2 * spacing):
            b = "refuted"
        elif nf[-1] > nf[0]:
            b = "supported"
        else:
            b = "inconclusive"
    return cells, a, b


def acc(rows, **match):
    sel = [r for r in rows if all(str(r[k]) == str(v) for k, v in match.items())]
    train = mean_interval([num(r, "train_accuracy") for r in sel])
    test = mean_interval([num(r, "test_accuracy") for r in sel])
    return sel, train, test


def sel_num(rows, key, value):
    return [r for r in rows if float(r[key]) == float(value)]


def c2_verdicts(c2, base):
    if not c2:
        return "inconclusive", "inconclusive"
    sizes = sorted({int(r["train_size"]) for r in c2})
    sep_p = sep_u = any_small = ahead = small_sep_u = False
    for m in sizes:
        p, _, pt = acc(sel_num(c2, "train_size", m), task="invariant", model="permutation-local")
        u, _, ut = acc(sel_num(c2, "train_size", m), task="invariant", model="unstructured")
        if not p or not u:
            continue
        if m <= 30:
            any_small = True
            sep_p = sep_p or pt[1] > ut[2]
            ahead = ahead or pt[0] > ut[0]
            small_sep_u = small_sep_u or ut[1] > pt[2]
        sep_u = sep_u or ut[1] > pt[2]
    a = ("refuted" if small_sep_u or (any_small and not ahead) else
         "supported" if sep_p and not sep_u else "inconclusive")
    largest = sizes[-1]
    p, _, pt = acc(sel_num(c2, "train_size", largest), task="broken", model="permutation-local")
    u, _, ut = acc(sel_num(c2, "train_size", largest), task="broken", model="unstructured")
    bound = [num(r, "test_accuracy") for r in base
             if (r["experiment"], r["condition"], r["method"]) == ("c2", "broken", "best-invariant")]
    if not p or not u or not bound:
        b = "inconclusive"
    elif pt[0] > bound[0] + 0.05 or ut[0] <= pt[0]:
        b = "refuted"
    elif ut[1] > pt[2]:
        b = "supported"
    else:
        b = "inconclusive"
    return a, b


def c3_verdict(c3, labels):
    u, ut, _ = acc(c3, labels=labels, model="unstructured")
    all_below, any_above = bool(u), False
    for m in ("free-fermion", "permutation"):
        p, pt, _ = acc(c3, labels=labels, model=m)
        all_below = all_below and bool(p) and pt[2] < ut[1]
        any_above = any_above or (bool(p) and bool(u) and pt[0] >= ut[0])
    return "refuted" if any_above else "supported" if all_below else "inconclusive"


# ---- the landscape fits, recomputed --------------------------------------------------------------

def wls(x, y, w):
    s, sx, sy = sum(w), sum(a * b for a, b in zip(w, x)), sum(a * b for a, b in zip(w, y))
    sxx = sum(a * b * b for a, b in zip(w, x))
    sxy = sum(a * b * c for a, b, c in zip(w, x, y))
    d = s * sxx - sx * sx
    b = (s * sxy - sx * sy) / d
    a = (sy - b * sx) / s
    chi2 = sum(wi * (yi - a - b * xi) ** 2 for wi, xi, yi in zip(w, x, y))
    se = math.sqrt(s / d) * max(1.0, math.sqrt(chi2 / (len(x) - 2)) if len(x) > 2 else 1.0)
    return b, se


def fit(points, exponential):
    x = [p[0] if exponential else math.log(p[0]) for p in points]
    y = [math.log(p[1]) for p in points]
    w = [1.0 / (p[2] / p[1]) ** 2 for p in points]
    return wls(x, y, w)


QUANT = [("var_loss", "Var[l]", "pred_loss"), ("var_grad_mid", "Var[dl/dw_mid]", "pred_grad_mid"),
         ("var_data_loss", "Var[training loss]", None)]


def fit_rows(land, factors):
    out = []
    for model in ("unstructured", "permutation", "free-fermion"):
        for f in factors:
            for col, name, pcol in QUANT:
                pts, preds = [], []
                for r in land:
                    if r["model"] != model or int(r["layers"]) != f * int(r["n_qubits"]):
                        continue
                    v, se = num(r, col), num(r, col + "_stderr")
                    if not (v > 0 and se > 0 and math.isfinite(v) and math.isfinite(se)):
                        continue
                    pts.append((int(r["n_qubits"]), v, se))
                    if pcol:
                        pv = num(r, pcol)
                        if pv > 0 and math.isfinite(pv):
                            preds.append((int(r["n_qubits"]), pv, pv * se / v))
                if len(pts) < 3:
                    continue
                expo = model == "unstructured"
                b, se = fit(pts, expo)
                half = t975(len(pts) - 2) * se
                predicted = fit(preds, expo)[0] if len(preds) == len(pts) else math.nan
                target = -math.log(2) if expo and pcol else predicted
                consistent = "-" if not math.isfinite(target) else (
                    "yes" if b - half <= target <= b + half else "no")
                out.append((model, f, name, "slope of ln Var in n" if expo else "exponent of n", len(pts),
                            b, b - half, b + half, target, consistent))
    return out


def ff_closed_forms(n, loss, grad, where):
    """so(2n): P(rho) P(O) = n - 1 (the Z-only strings Z_q Z_q+1), kappa = 16 (n - 1)."""
    dim = n * (2 * n - 1)
    for got, want, what in ((loss, (n - 1) / dim, "Var[l]"), (grad, 4 * (n - 1) ** 2 / dim ** 2, "Var[dl/dw]")):
        if abs(got - want) > 1e-9 * want:
            fail(f"{where}: free-fermion n={n}: {what} prediction {got} is not the closed form {want}")


def perm_mid(n, layers):
    """The permutation model's middle-gate prediction (docs/paradox.md)."""
    pos = (3 * layers // 2) % 3
    a = [(m * m / n if pos == 0 else m) for m in range(-n, n + 1, 2)]
    kappa = 2 * (n + 1) * sum(x * x for x in a) - 2 * sum(a) ** 2
    return kappa / (12 * n * n * (n + 2))


def verify_large(out, expect, lines):
    """The large-n tables: closed forms, backends, and every row the report prints."""
    if not os.path.isfile(os.path.join(out, "large.csv")):
        return
    large, c1l, cost = (load(out, n) for n in ("large.csv", "c1_large.csv", "cost.csv"))
    for r in large:
        n, layers = int(r["n_qubits"]), int(r["layers"])
        if r["backend"] not in ("gsim", "symmetric"):
            fail(f"large.csv: row on {r['backend']}")
        if int(r["samples"]) < 1000:
            fail("large.csv: fewer than 1000 draws")
        if r["model"] == "free-fermion":
            ff_closed_forms(n, num(r, "pred_loss"), num(r, "pred_grad_mid"), "large.csv")
            if int(r["dla_dim"]) != n * (2 * n - 1):
                fail(f"large.csv: free-fermion n={n}: DLA dimension {r['dla_dim']}")
        else:
            if abs(num(r, "pred_loss") - 1 / (3 * n)) > 1e-12 or abs(num(r, "pred_grad_mid") - perm_mid(n, layers)) > \
                    1e-9 * perm_mid(n, layers):
                fail(f"large.csv: permutation n={n}: predictions {r['pred_loss']}, {r['pred_grad_mid']}")

        def vci(v, se):
            return f"{v:.3g} [{max(v - 1.96 * se, 0.0):.3g}, {v + 1.96 * se:.3g}]"
        expect(f"| {r['model']} | {n} | {layers} | {r['backend']} | {r['dla_dim']} | "
               f"{vci(num(r, 'var_loss'), num(r, 'var_loss_stderr'))} | {g3(num(r, 'pred_loss'))} | "
               f"{vci(num(r, 'var_grad_mid'), num(r, 'var_grad_mid_stderr'))} | {g3(num(r, 'pred_grad_mid'))} |",
               "large-n landscape table")
    if large:
        in_l = sum(abs(num(r, "var_loss") - num(r, "pred_loss")) <= 1.96 * num(r, "var_loss_stderr") for r in large)
        in_g = sum(abs(num(r, "var_grad_mid") - num(r, "pred_grad_mid")) <= 1.96 * num(r, "var_grad_mid_stderr")
                   for r in large)
        want = (f"The prediction lies inside the interval in {in_l} of {len(large)} rows for Var[l] and {in_g} of "
                f"{len(large)} for Var[dl/dw_mid].")
        if not any(line.startswith(want) for line in lines):
            fail(f"large-n findings: the report lacks '{want}'")
    seen = []
    for r in c1l:
        if int(r["shots"]) != 0 or r["backend"] not in ("gsim", "symmetric"):
            fail(f"c1_large.csv: shots {r['shots']} on {r['backend']}")
        if int(r["success"]) != (num(r, "train_accuracy") >= 0.9):
            fail("c1_large.csv: success does not follow from the train accuracy")
        key = (r["model"], r["n_qubits"])
        if key in seen:
            continue
        seen.append(key)
        sel = [q for q in c1l if (q["model"], q["n_qubits"]) == key]
        k, m = sum(int(q["success"]) for q in sel), len(sel)
        lo, hi = wilson(k, m)
        expect(f"| {key[0]} | {key[1]} | {r['backend']} | {r['n_weights']} | {k}/{m} | {ci(k / m, lo, hi)} | "
               f"{sum(num(q, 'train_accuracy') for q in sel) / m:.3f} | "
               f"{sum(num(q, 'test_accuracy') for q in sel) / m:.3f} | {sum(num(q, 'seconds') for q in sel) / m:.1f} |",
               "large-n C1 table")
    for r in cost:
        ref = [num(q, "seconds_step") for q in cost if q["model"] == r["model"] and q["side"] == "statevector"]
        ratio = f"{num(r, 'seconds_step') / ref[-1]:.3g}" if ref and ref[-1] > 0 else "-"
        expect(f"| {r['model']} | {r['n_qubits']} | {r['backend']} | {num(r, 'dimension'):.0f} | {r['n_weights']} | "
               f"{num(r, 'seconds_gradient'):.3g} | {num(r, 'seconds_step'):.3g} | {ratio} |", "cost table")
        if (r["side"] == "statevector") != (r["backend"] == "statevector"):
            fail(f"cost.csv: side {r['side']} on {r['backend']}")


def tables(report):
    found, current = [], []
    for line in report.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--large":
        # The long mode's large-n code paths, cut down: --quick plus one
        # large n on the algebra simulators (always an algebraic backend).
        qml, out = sys.argv[2], sys.argv[3]
        shutil.rmtree(out, ignore_errors=True)
        run(qml, out, "--quick", "--qubits-large", "16", "--backend", "auto", "--out", out, "--threads", "2",
            timeout=280)
        for name in ("large.csv", "c1_large.csv", "cost.csv"):
            if not load(out, name):
                fail(f"{name} has no rows")
        verify(out)
        return
    if len(sys.argv) != 3:
        fail("usage: check_paradox.py QML OUTDIR | check_paradox.py --check-only OUTDIR | "
             "check_paradox.py --large QML OUTDIR")
    if sys.argv[1] == "--check-only":
        verify(sys.argv[2])  # an existing run's folder: recompute, run nothing
        return
    qml, out = sys.argv[1], sys.argv[2]
    other = out + "-threads2"
    for d in (out, other):
        shutil.rmtree(d, ignore_errors=True)
    r = run(qml, out, "--quick", "--out", out, "--threads", "1")
    if "report.md" not in r.stdout:
        fail(f"the command does not say where the report is: {r.stdout!r}")
    if "left" not in r.stderr or "[1/" not in r.stderr:
        fail("no progress lines with the time left on stderr")
    run(qml, other, "--quick", "--out", other, "--threads", "2")
    same_rows(out, other, "between 1 and 2 threads")

    # An interrupted run: drop rows (and leave a partial line), resume.
    for name, keep in (("landscape.csv", 5), ("c3.csv", 4), ("c1.csv", 3)):
        path = os.path.join(other, name)
        with open(path) as f:
            lines = f.readlines()
        with open(path, "w") as f:
            f.writelines(lines[:1 + keep])
            f.write(lines[1 + keep][:10])
    os.remove(os.path.join(other, "report.md"))
    r = run(qml, other, "--resume", other)
    if "resuming" not in r.stderr:
        fail("--resume does not say it resumes")
    same_rows(out, other, "after --resume")

    verify(out)

    # C1a's rule on failures, in the program and here: edit finished rows
    # (the unstructured model fails at its largest n with a finite budget
    # while exact gradients succeed there: a plateau failure; the
    # free-fermion model fails at its smallest n with exact gradients and
    # the finite budget: not one) and let --resume write the report again.
    edited = out + "-c1a"
    shutil.rmtree(edited, ignore_errors=True)
    shutil.copytree(out, edited)
    path = os.path.join(edited, "c1.csv")
    rows = load(edited, "c1.csv")
    qs = sorted({int(r["n_qubits"]) for r in rows})
    for r in rows:
        n, shots = int(r["n_qubits"]), int(r["shots"])
        if (r["model"] == "unstructured" and n == qs[-1] and shots) or (r["model"] == "free-fermion" and n == qs[0]):
            r["train_accuracy"], r["success"] = "0.5", "0"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    run(qml, edited, "--resume", edited)
    verify(edited)
    with open(os.path.join(edited, "report.md")) as f:
        text = f.read()
    if f"free-fermion at n = {qs[0]} (exact 0/" not in text:
        fail("the edited run's report does not list the free-fermion failure with exact gradients")
    if f"n_u = {qs[-1]}" not in [l for l in text.splitlines() if l.startswith("| C1a")][0]:
        fail("the edited run's C1a does not find the unstructured plateau failure at the largest n")
    shutil.rmtree(edited, ignore_errors=True)


def verify(out):
    names = ["report.md", "verdicts.csv", "options.txt", "landscape.csv", "c1.csv", "c2.csv", "c3.csv",
             "baselines.csv"]
    for name in names:
        if not os.path.isfile(os.path.join(out, name)):
            fail(f"{name} is missing")
    with open(os.path.join(out, "report.md")) as f:
        report = f.read()
    embedded = re.findall(r"!\[.*?\]\(([^)\s]+\.svg)\)", report)
    if not embedded:
        fail("the report embeds no figure")
    for name in embedded:
        path = os.path.join(out, name)
        if "/" in name or not os.path.isfile(path):
            fail(f"the report embeds {name}, which is not in the output folder")
        root = ET.parse(path).getroot()
        if not root.tag.endswith("svg") or not any(el.tag.endswith(("polyline", "circle", "rect", "path"))
                                                   for el in root.iter()):
            fail(f"{name}: not an SVG with data")
    for svg in [n for n in os.listdir(out) if n.endswith(".svg")]:
        if svg not in embedded:
            fail(f"{svg} is written but not embedded in the report")
    if os.path.abspath(out) in report or re.search(r"(^|[\s`(])/(tmp|work|home|usr|root)/", report):
        fail("the report holds an absolute path")
    for bad in ("DESIGN.md", "STYLE.md", "shared/", "issue"):
        if bad in report:
            fail(f"the report names {bad!r}")
    for ref in re.findall(r"\b([\w/]+\.(?:md|csv|svg|txt))\b", report):
        if not (os.path.isfile(os.path.join(out, ref)) or ref.startswith("docs/")):
            fail(f"the report names {ref}, which the output folder lacks")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for ref in re.findall(r"\b(docs/[\w.]+)", report):
        if not os.path.isfile(os.path.join(repo, ref)):
            fail(f"the report names {ref}, which the repository lacks")

    land, c1, c2, c3, base = (load(out, n) for n in ("landscape.csv", "c1.csv", "c2.csv", "c3.csv",
                                                     "baselines.csv"))
    for rows, name in ((c1, "c1"), (c2, "c2"), (c3, "c3"), (base, "baselines")):
        for r in rows:
            for key in ("train_accuracy", "test_accuracy"):
                v = num(r, key)
                if not (math.isnan(v) or 0.0 <= v <= 1.0):
                    fail(f"{name}.csv: {key} = {v}")
    for r in land:
        for key in ("var_loss", "var_grad_mid"):
            if not num(r, key) > 0:
                fail(f"landscape.csv: {key} = {r[key]}")
        if num(r, "var_loss") > 1.0:
            fail("landscape.csv: Var[l] above 1 for |<O>| <= 1")
        with open(os.path.join(out, "options.txt")) as f:
            quick = "--quick" in f.read().split()
        if int(r["samples"]) < (300 if quick else 1000):
            fail("landscape.csv: fewer draws than the study promises (1000; 300 with --quick)")

    # Verdicts.
    batch = int(c1[0]["batch"]) if c1 else 16
    cells, v1a, v1b = c1_verdicts(c1, batch)
    v2a, v2b = c2_verdicts(c2, base)
    mine = {"C1a": v1a, "C1b": v1b, "C2a": v2a, "C2b": v2b, "C3a": c3_verdict(c3, "random"),
            "C3b": c3_verdict(c3, "flip20")}
    written = {r["claim"]: r["verdict"] for r in load(out, "verdicts.csv")}
    if written != mine:
        fail(f"verdicts.csv {written} differ from the recomputed {mine}")
    tabs = tables(report)
    if not tabs or not tabs[0][0].startswith("| claim |"):
        fail("the report does not open with the verdict table")
    for line in tabs[0][2:]:
        claim = line.split("|")[1].strip()[:3]
        if f"**{mine.get(claim)}**" not in line:
            fail(f"the report's verdict for {claim} is not the recomputed {mine.get(claim)}")
    if report.index("## Verdicts") > report.index("## C1"):
        fail("the verdicts do not come first")

    lines = set(report.splitlines())

    def expect(line, what):
        if line not in lines:
            fail(f"{what}: the report lacks the row\n  {line}")

    # C1 table.
    factor = int(c1[0]["layers"]) // int(c1[0]["n_qubits"]) if c1 else 8
    for (model, n, s), (k, m, tr, te) in sorted(cells.items(), key=lambda kv: (KIND_ORDER.index(kv[0][0]),
                                                                               kv[0][2], kv[0][1])):
        lo, hi = wilson(k, m)
        per = PER_LAYER.get(model, lambda n: 3)(n)
        expect(f"| {model} | {n} | {per * factor * n} | {s if s else 'exact'} | {k}/{m} | {ci(k / m, lo, hi)} | "
               f"{tr / m:.3f} | {te / m:.3f} |", "C1 table")
    # C1 findings: the success probability at the smallest and largest n.
    qs = sorted({k[1] for k in cells})
    models = sorted({k[0] for k in cells}, key=KIND_ORDER.index)
    if len(qs) >= 2:
        for s_ in sorted({k[2] for k in cells}):
            line = f"- S = {s_ if s_ else 'exact'}:"
            for i, model in enumerate(models):
                a, z = cells.get((model, qs[0], s_)), cells.get((model, qs[-1], s_))
                if not a:
                    continue
                line += f"{';' if i else ''} {model} {a[0] / a[1]:.3f} at n = {qs[0]}"
                if z:
                    line += f", {z[0] / z[1]:.3f} at n = {qs[-1]}"
            expect(line + " (success probability).", "C1 findings")
    # The backend of every row, and the failures exact gradients share.
    for rows, name, what in ((c1, "c1.csv", "runs"), (land, "landscape.csv", "rows")):
        order = []
        for r in rows:
            if r["backend"] not in order:
                order.append(r["backend"])
        summary = ", ".join(f"{b} ({sum(r['backend'] == b for r in rows)} row"
                            f"{'' if sum(r['backend'] == b for r in rows) == 1 else 's'})" for b in order) or "none"
        expect(f"Backends of these {what} ({name}, column backend): {summary}.", "backend line")
    for r in c1:
        if int(r["shots"]) and r["backend"] != "statevector":
            fail("c1.csv: a finite-shot run off the statevector")
    exact_fail = [f"{m} at n = {n} (exact {k}/{mm})" for (m, n, s_), (k, mm, _, _) in
                  sorted(cells.items(), key=lambda kv: (KIND_ORDER.index(kv[0][0]), kv[0][1]))
                  if s_ == 0 and 2 * k < mm]
    expect("Failures with exact gradients too, so not counted as caused by the plateau in C1a and C1b: "
           f"{'; '.join(exact_fail) if exact_fail else 'none'}.", "exact-failure line")
    verify_large(out, expect, lines)
    # C2 table.
    sizes = sorted({int(r["train_size"]) for r in c2})
    for task in ("invariant", "broken"):
        for model in ("permutation-local", "unstructured"):
            for m in sizes:
                sel, tr, te = acc(sel_num(c2, "train_size", m), task=task, model=model)
                if sel:
                    expect(f"| {task} | {model} | {int(float(sel[-1]['n_weights']))} | {m} | {ci(*te)} | "
                           f"{tr[0]:.3f} |", "C2 table")
        for method in ("logistic-1", "logistic-3", "knn-5"):
            for m in sizes:
                sel, tr, te = acc(sel_num([r for r in base if r["experiment"] == "c2"], "size", m), condition=task,
                                  method=method)
                if sel:
                    expect(f"| {task} | {method} | - | {m} | {ci(*te)} | {tr[0]:.3f} |", "C2 baselines")
    # C3 table.
    for labels in ("clean", "flip20", "random"):
        for model in ("unstructured", "free-fermion", "permutation"):
            sel, tr, te = acc(c3, labels=labels, model=model)
            if sel:
                ranks = [num(r, "jacobian_rank") for r in sel if math.isfinite(num(r, "jacobian_rank"))]
                rank = g3(sum(ranks) / len(ranks)) if ranks else "-"
                expect(f"| {labels} | {model} | {int(float(sel[-1]['layers']))} | {int(float(sel[-1]['n_weights']))} "
                       f"| {ci(*tr)} | {te[0]:.3f} | {rank} |", "C3 table")
        for method in ("logistic-1", "logistic-3", "knn-5"):
            sel, tr, te = acc([r for r in base if r["experiment"] == "c3"], condition=labels, method=method)
            if sel:
                expect(f"| {labels} | {method} | - | - | {ci(*tr)} | {te[0]:.3f} | - |", "C3 baselines")
    # Landscape table.
    for r in land:
        expect(f"| {r['model']} | {r['n_qubits']} | {r['layers']} | {r['dla_dim']} | "
               f"{se_text(num(r, 'var_loss'), num(r, 'var_loss_stderr'))} | {g3(num(r, 'pred_loss'))} | "
               f"{se_text(num(r, 'var_grad_mid'), num(r, 'var_grad_mid_stderr'))} | {g3(num(r, 'pred_grad_mid'))} | "
               f"{se_text(num(r, 'var_data_loss'), num(r, 'var_data_loss_stderr'))} |", "landscape table")
    # Roughness table.
    if os.path.isfile(os.path.join(out, "roughness.csv")):
        for r in load(out, "roughness.csv"):
            expect(f"| {r['model']} | {r['n_qubits']} | {r['layers']} | "
                   f"{se_text(num(r, 'mean_square_slope'), num(r, 'stderr'))} |", "roughness table")
    # The closed forms the landscape uses: su(2^n) and the permutation model's.
    for r in land:
        n = int(r["n_qubits"])
        if r["model"] == "unstructured" and r["pred_source"] != "none":
            d = 2.0 ** n
            if abs(num(r, "pred_loss") - 1 / (d + 1)) > 1e-9 / (d + 1):
                fail(f"landscape.csv: unstructured n={n}: Var[l] prediction {r['pred_loss']} is not 1/(2^n+1)")
            want = d * d / (2 * (d - 1) * (d + 1) ** 2)
            if abs(num(r, "pred_grad_mid") - want) > 1e-9 * want:
                fail(f"landscape.csv: unstructured n={n}: gradient prediction {r['pred_grad_mid']} is not {want}")
            if int(r["dla_dim"]) != 4 ** n - 1:
                fail(f"landscape.csv: unstructured n={n}: DLA dimension {r['dla_dim']}")
        if r["model"] == "free-fermion" and int(r["dla_dim"]) != n * (2 * n - 1):
            fail(f"landscape.csv: free-fermion n={n}: DLA dimension {r['dla_dim']}")
        if r["model"] == "free-fermion" and r["pred_source"] != "none":
            ff_closed_forms(n, num(r, "pred_loss"), num(r, "pred_grad_mid"), "landscape.csv")
        if r["model"] == "permutation":
            if abs(num(r, "pred_loss") - 1 / (3 * n)) > 1e-9:
                fail(f"landscape.csv: permutation n={n}: Var[l] prediction {r['pred_loss']} is not 1/(3n)")
            if int(r["dla_dim"]) != 1 + sum((j + 1) ** 2 - 1 for j in range(n, -1, -2)):
                fail(f"landscape.csv: permutation n={n}: DLA dimension {r['dla_dim']}")
    # Fit table: numbers within the printed precision.
    factors = sorted({int(r["layers"]) // int(r["n_qubits"]) for r in land
                      if int(r["layers"]) % int(r["n_qubits"]) == 0 and int(r["layers"]) <= 8 * int(r["n_qubits"])})
    fit_lines = [l for l in report.splitlines() if re.match(r"\| [\w-]+ \| \d+n \| ", l)]
    expected = fit_rows(land, factors)
    if len(fit_lines) != len(expected):
        fail(f"fit table: {len(fit_lines)} rows, expected {len(expected)}")
    for line, e in zip(fit_lines, expected):
        cells_ = [c.strip() for c in line.strip("|").split("|")]
        if cells_[:5] != [e[0], f"{e[1]}n", e[2], e[3], str(e[4])] or cells_[7] != e[9]:
            fail(f"fit table row {line!r} against {e}")
        got = [float(v) for v in re.findall(r"-?\d+\.\d+", cells_[5])]
        for a, b in zip(got, e[5:8]):
            if abs(a - b) > 1.5e-3:
                fail(f"fit table row {line!r}: {got} against {e[5:8]}")
        if (cells_[6] == "-") != (not math.isfinite(e[8])) or (cells_[6] != "-" and abs(float(cells_[6]) - e[8]) >
                                                                 1.5e-3):
            fail(f"fit table row {line!r}: predicted {cells_[6]} against {e[8]}")
    print(f"check_paradox: ok ({len(land)} landscape rows, {len(c1)} C1 runs, {len(c2)} C2 runs, {len(c3)} C3 runs, "
          f"{len(base)} baseline rows, {len(embedded)} figures; verdicts {mine})")


if __name__ == "__main__":
    main()
