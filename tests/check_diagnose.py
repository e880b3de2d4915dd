#!/usr/bin/env python3
"""End-to-end checks of `qml diagnose` against closed forms.

The dynamical Lie algebra of a hardware-efficient circuit (RY, RZ and a CZ
ladder) is su(2^n), of dimension 4^n - 1; that of a free-fermion chain
(XX hopping, Z on-site: quadratic in Majorana operators) is so(2n), of
dimension n(2n - 1). A global observable on a deep 12-qubit hardware-efficient
circuit is on a barren plateau at 1000 shots (its algebra is exponential and
the gradient signal-to-noise ratio is below 1); a 20-qubit, 400-weight file
finishes (the closure stops at its cap and says so, and the classification of
its generators, non-local strings after the CZ ladders, names su(2^20)).

usage: check_diagnose.py QML_PROGRAM TESTS_QASM_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def diagnose(qml, path, *extra):
    result = subprocess.run([qml, "diagnose", path, "--json", "--threads", "1", *extra],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit(f"qml diagnose {path} failed ({result.returncode}): {result.stderr}")
    return json.loads(result.stdout)


def hea(n, layers):
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f'qreg q[{n}];']
    k = 0
    for _ in range(layers):
        for q in range(n):
            lines += [f'ry(theta[{k}]) q[{q}];', f'rz(theta[{k + 1}]) q[{q}];']
            k += 2
        lines += [f'cz q[{q}],q[{q + 1}];' for q in range(n - 1)]
    return "\n".join(lines) + "\n"


def ring(n, bonds_first=False):
    """RX on every qubit, then RZZ on every bond of the ring (periodic TFIM), or the bonds first."""
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f'qreg q[{n}];']
    a, b = (n, 0) if bonds_first else (0, n)  # weight 0 is the first gate's
    rx = [f'rx(theta[{a + q}]) q[{q}];' for q in range(n)]
    rzz = [f'rzz(theta[{b + q}]) q[{q}],q[{(q + 1) % n}];' for q in range(n)]
    lines += rzz + rx if bonds_first else rx + rzz
    return "\n".join(lines) + "\n"


def ring_prediction(n):
    """Ragone et al.: Var[l] = sum_j P_j(rho) P_j(O) / dim g_j for the ring's
    generators X_q and Z_q Z_q+1, rho = |0..0><0..0| and O = Z0 Z1, computed
    here on the enumerated algebra: the strings of g by closure (bit masks x,
    z), the parity P = X...X commuting with every one of them and mapping g
    to itself, so g = g (1 + P)/2 + g (1 - P)/2; each ideal's purity is the
    Hilbert-Schmidt norm^2 of A_g (1 +- P)/2, A_g the projection of A onto
    the span of g's (orthonormal) strings; the first gate's variance (Fontana et
    al.) the same with sigma = -(i/2)[X0, rho] for rho. Returns (dim g, Var, Var_first)."""
    full = (1 << n) - 1
    gens = [(1 << q, 0) for q in range(n)] + [(0, (1 << q) | (1 << ((q + 1) % n))) for q in range(n)]

    def anticommute(a, b):
        return bin((a[0] & b[1]) ^ (a[1] & b[0])).count("1") & 1

    seen = set(gens)
    todo = list(gens)
    while todo:
        a = todo.pop()
        for b in gens:
            if anticommute(a, b):
                c = (a[0] ^ b[0], a[1] ^ b[1])
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
    parity = (full, 0)
    assert all(not anticommute(s, parity) and (s[0] ^ full, s[1]) in seen for s in seen)

    def times_parity(s):
        """S P = sign * T for a string S commuting with P (per qubit: Y X = -i Z, Z X = i Y)."""
        y = bin(s[0] & s[1]).count("1")
        z = bin(~s[0] & s[1] & full).count("1")
        k = (z - y) % 4
        assert k in (0, 2)
        return (s[0] ^ full, s[1]), 1 if k == 0 else -1

    def purities(coefficients):  # {string: a_S} of A_g -> (P_+, P_-) / 2^n
        out = []
        for sign in (1, -1):
            c = {}
            for s, a in coefficients.items():
                c[s] = c.get(s, 0) + a / 2
                t, phase = times_parity(s)
                c[t] = c.get(t, 0) + sign * phase * a / 2
            out.append(sum(v * v for v in c.values()))
        return out

    def product(a, b):
        """A B = i^k C for strings a, b (letters multiplied qubit by qubit: X Y = i Z, ...)."""
        k = 0
        for q in range(n):
            la = "IXZY"[(a[0] >> q & 1) | (a[1] >> q & 1) << 1]
            lb = "IXZY"[(b[0] >> q & 1) | (b[1] >> q & 1) << 1]
            if "I" not in (la, lb) and la != lb:
                k += 1 if la + lb in ("XY", "YZ", "ZX") else 3
        return (a[0] ^ b[0], a[1] ^ b[1]), k % 4

    # rho = 2^-n sum over Z-type strings Q of Q (<0|Q|0> = 1); in units where Tr(S^2) = 2^n
    # the HS norm^2 of sum_S c_S S is 2^n sum c_S^2.
    rho = {s: 2.0 ** -n for s in seen if s[0] == 0}
    o = {(0, 0b11): 1.0}
    assert (0, 0b11) in seen
    # the first gate, G = X0: sigma = -(i/2)[G, rho_g] = -i 2^-n sum over the Q that
    # anticommute with G of G Q = i^k R, a real coefficient i^(k - 1) 2^-n on R
    g = (1, 0)
    sigma = {}
    for s in rho:
        if anticommute(g, s):
            r, k = product(g, s)
            sigma[r] = (1 if k == 1 else -1) * 2.0 ** -n
    p_rho = [v * 2.0 ** n for v in purities(rho)]
    p_o = [v * 2.0 ** n for v in purities(o)]
    p_sigma = [v * 2.0 ** n for v in purities(sigma)]
    half = len(seen) // 2
    return (len(seen), sum(p_rho[j] * p_o[j] / half for j in range(2)),
            sum(p_sigma[j] * p_o[j] / half for j in range(2)))


def check(condition, what):
    if not condition:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def main():
    qml, qasm_dir = sys.argv[1], sys.argv[2]
    n = 4

    d = diagnose(qml, os.path.join(qasm_dir, "hea_4q.qasm"))
    check(d["schema"] == "qml.diagnose/1", "schema key")
    check(d["dla"]["status"] == "closed" and d["dla"]["is_full"], "HEA: the DLA is su(2^n)")
    check(d["dla"]["dimension"] == 4 ** n - 1, "HEA: dim g = 4^n - 1 = 255")
    check(d["dla"]["observable_in_ig"] is True and d["dla"]["state_in_ig"] is True, "HEA: O and |0..0> in i g")
    # su(2^n), a unitary 2-design: Var[l] = Tr(O^2)/d / (d + 1) for O = Z0, d = 2^n
    check(abs(d["prediction"]["loss_variance"] - 1 / (2 ** n + 1)) < 1e-12, "HEA: predicted Var[l] = 1/(2^n + 1)")
    check(len(d["measured"]["per_weight"]) == 24, "HEA: one record per weight")

    d = diagnose(qml, os.path.join(qasm_dir, "free_fermion_4q.qasm"))
    check(d["dla"]["dimension"] == n * (2 * n - 1), "free fermions: dim g = n(2n - 1) = 28")
    check("so(8)" in d["dla"]["ideals"] and d["dla"]["n_ideals"] == 1 and not d["dla"]["is_full"],
          "free fermions: g = so(2n) = so(8)")
    check(d["dla"]["observable_in_ig"] is True and d["dla"]["state_in_ig"] is False,
          "free fermions: Z0 in i g, |0..0> not")

    with tempfile.TemporaryDirectory() as tmp:
        deep = os.path.join(tmp, "hea12.qasm")
        with open(deep, "w") as f:
            f.write(hea(12, 12))
        d = diagnose(qml, deep, "--observable", " ".join(f"Z{q}" for q in range(12)), "--samples", "100")
        # su(2^12): Var[l] ~ 2^-12 for a global Pauli string; the gradients are as small
        check(d["measured"]["gradient_variance"] < 1e-3, "12-qubit global observable: gradient variance < 1e-3")
        check(d["shots"]["snr_at_budget"] < 1 and d["shots"]["per_component_for_snr_1"] > 1000,
              "12-qubit global observable: SNR < 1 at 1000 shots")
        check("barren plateau" in d["verdict"]["summary"], "12-qubit global observable: verdict barren plateau")

        big = os.path.join(tmp, "hea20.qasm")
        with open(big, "w") as f:
            f.write(hea(20, 10))
        d = diagnose(qml, big)
        check(d["circuit"]["qubits"] == 20 and d["circuit"]["weights"] == 400, "20 qubits, 400 weights read")
        check(d["dla"]["status"] == "capped" and d["dla"]["dimension_is_lower_bound"],
              "20 qubits: the closure stops at the cap and says so")
        check(d["dla"]["classified_name"] == "su(2^20)" and d["dla"]["is_full"] and d["dla"]["centre_dim"] == 0,
              "20 qubits: the generators moved through the CZ ladders are non-local strings, classified su(2^20)")
        check(d["light_cone"]["qubits"] == 11, "20 qubits: Z0's light cone after 10 CZ-ladder layers is 11 qubits")
        check(d["measured"]["light_cone_only"] and d["measured"]["samples"] == 200,
              "20 qubits: measured on the light cone with every sample")
    # --circuit in qml dla, grad and bp
    ff = os.path.join(qasm_dir, "free_fermion_4q.qasm")
    out = subprocess.run([qml, "dla", "--circuit", ff, "--json"], capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    check(d["dim"] == 28 and d["ideals"][0]["names"].startswith("so(8)"), "qml dla --circuit: so(8)")
    out = subprocess.run([qml, "grad", "--circuit", ff, "--observable", "Z0 Z1"], capture_output=True, text=True,
                         check=True)
    check(sum(line.startswith("dw[") for line in out.stdout.splitlines()) == 21, "qml grad --circuit: 21 derivatives")
    out = subprocess.run([qml, "bp", "--circuit", ff, "--json", "--samples", "50"], capture_output=True, text=True,
                         check=True)
    d = json.loads(out.stdout)
    check(d["rows"][0]["n"] == 4 and d["rows"][0]["dim_g"] == 28 and d["rows"][0]["var_measured"] > 0,
          "qml bp --circuit: one row with dim_g 28")
    # qml dla on string generators past the enumeration limit: the classification is the answer
    with tempfile.TemporaryDirectory() as tmp:
        m = 1000
        hea_path, ff_path = os.path.join(tmp, "hea1000.txt"), os.path.join(tmp, "tfim1000.txt")
        with open(hea_path, "w") as f:
            f.write("".join(f"X{q}\nY{q}\n" for q in range(m)) + "".join(f"Z{q} Z{q + 1}\n" for q in range(m - 1)))
        with open(ff_path, "w") as f:
            f.write("".join(f"X{q}\n" for q in range(m)) + "".join(f"Z{q} Z{q + 1}\n" for q in range(m - 1)))
        out = subprocess.run([qml, "dla", "--json", hea_path], capture_output=True, text=True, check=True)
        d = json.loads(out.stdout)
        check(d["classified_name"] == "su(2^1000)" and d["full"] and d["dim"] is None and abs(d["log2_dim"] - 2000) < 1e-9,
              "qml dla: 1000-qubit HEA strings are su(2^1000), log2 dim 2000")
        out = subprocess.run([qml, "dla", "--json", ff_path], capture_output=True, text=True, check=True)
        d = json.loads(out.stdout)
        check(d["classified_name"] == "so(2000)" and d["dim"] == m * (2 * m - 1) and not d["full"],
              "qml dla: the 1000-qubit TFIM chain strings are so(2000), dim n(2n - 1)")
        # with --purity OP --state zero, the variance predicted from the classification
        out = subprocess.run([qml, "dla", "--json", "--purity", "Z0 Z1", "--state", "zero", ff_path],
                             capture_output=True, text=True, check=True)
        p = json.loads(out.stdout)["prediction"]
        want = (m - 1) / (m * (2 * m - 1))
        check(p["applicable"] and abs(p["loss_variance"] - want) < 1e-12 * want,
              "qml dla: TFIM chain at n = 1000, O = Z0 Z1: Var[l] = (n - 1)/(n(2n - 1)) from the classification")
        out = subprocess.run([qml, "dla", "--json", "--purity", "Z0", "--state", "zero", hea_path],
                             capture_output=True, text=True, check=True)
        p = json.loads(out.stdout)["prediction"]
        check(p["applicable"] and p["loss_variance"] > 0 and abs(p["loss_variance"] * 2.0 ** 1000 - 1) < 1e-9,
              "qml dla: HEA at n = 1000, O = Z0: Var[l] = 1/(2^n + 1)")
        out = subprocess.run([qml, "dla", "--json", "--purity", "Z0", "--state", "zero", ff_path],
                             capture_output=True, text=True, check=True)
        p = json.loads(out.stdout)["prediction"]
        check(not p["applicable"] and p["loss_variance"] is None and "neither" in p["message"],
              "qml dla: TFIM chain, O = Z0 outside g: no prediction, and why")
    with tempfile.TemporaryDirectory() as tmp:
        dark = os.path.join(tmp, "dark.qasm")
        with open(dark, "w") as f:
            f.write('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nt q[0];\nry(theta[0]) q[0];\n'
                    'cx q[0],q[1];\nry(theta[1]) q[1];\n')
        d = diagnose(qml, dark, "--observable", "Z2")
        check(d["light_cone"]["weights"] == 0 and d["verdict"]["summary"] == "untrainable",
              "a weight-free light cone: untrainable, every gradient 0")
        check(d["dla"]["status"] == "not_computed" and "T" in d["dla"]["message"],
              "a T gate before a rotation: the DLA is not computed, and the message says why")
    # Past what a statevector holds: the 50-qubit RX + RZZ ring. g = so(100) + so(100)
    # (dim 9900); the prediction of Ragone et al., computed here on the enumerated
    # algebra, is 1/(2(2n - 1)); g-sim measures it; without a simulator that fits
    # (--backend statevector) the measurement is skipped and the verdict comes from
    # the prediction.
    for m in (4, 5, 6):
        dim, var, first = ring_prediction(m)
        check(dim == 2 * m * (2 * m - 1) and abs(var - 1 / (2 * (2 * m - 1))) < 1e-15
              and abs(first - 1 / (m * (2 * m - 1))) < 1e-15,
              f"ring n = {m}: enumerated g has dim 2n(2n - 1), Ragone's sum is 1/(2(2n - 1)), first gate 1/(n(2n - 1))")
    m = 50
    dim, want, want_first = ring_prediction(m)
    check(dim == 9900 and abs(want - 1 / 198) < 1e-15, "ring n = 50: enumerated dim 9900, Var[l] = 1/198")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ring50.qasm")
        with open(path, "w") as f:
            f.write(ring(m))
        small = os.path.join(tmp, "ring5.qasm")
        with open(small, "w") as f:
            f.write(ring(5))
        d = diagnose(qml, small, "--observable", "Z0 Z1", "--samples", "20")
        check(d["dla"]["dimension"] == 90 and abs(d["prediction"]["loss_variance"] - ring_prediction(5)[1]) < 1e-12
              and abs(d["prediction"]["first_gate_gradient_variance"] - ring_prediction(5)[2]) < 1e-12,
              "ring n = 5: the basis-based predictions (loss, first gate) equal the sums on the enumerated algebra")
        start = time.time()
        d = diagnose(qml, path, "--observable", "Z0 Z1")
        seconds = time.time() - start
        check(d["dla"]["status"] == "closed" and d["dla"]["dimension"] == 9900,
              "ring n = 50: the closure fits, dim 9900")
        # the enumerated algebra's structure (the strings' symmetry split), named by the classification too
        check(d["dla"]["classified_name"] == "2 x so(100)" and d["dla"]["structure_known"]
              and d["dla"]["ideals"] == "so(100) (dim 4950); so(100) (dim 4950)"
              and d["dla"]["n_ideals"] == 2 and d["dla"]["centre_dim"] == 0,
              "ring n = 50: 2 x so(100), enumerated and named by the classification")
        check(abs(d["prediction"]["loss_variance"] - want) < 1e-12 * want,
              "ring n = 50: predicted Var[l] = Ragone's sum on the enumerated algebra")
        check(abs(d["prediction"]["first_gate_gradient_variance"] - want_first) < 1e-12 * want_first,
              "ring n = 50: predicted first-gate variance = the sum on the enumerated algebra, 1/(n(2n - 1))")
        check(not d["measured"]["skipped"] and d["measured"]["backend"] == "gsim" and d["measured"]["samples"] == 200
              and d["measured"]["loss_variance"] > 0, "ring n = 50: measured by g-sim, 200 draws")
        check(d["verdict"]["from"] == "measurement", "ring n = 50: the verdict uses the measurement")
        check(seconds < 30, f"ring n = 50: diagnose took {seconds:.2f} s (< 30 s)")
        d = diagnose(qml, path, "--observable", "Z0 Z1", "--backend", "statevector")
        check(d["measured"]["skipped"] and "40 qubits" in d["measured"]["skip_reason"]
              and d["measured"]["loss_variance"] is None and d["measured"]["samples"] == 0,
              "ring n = 50 on the statevector: measurement skipped, and why")
        check(d["verdict"]["from"] == "prediction" and "prediction alone" in " ".join(d["verdict"]["reasons"])
              and d["verdict"]["gradient_variance"] == d["prediction"]["middle_gate_gradient_variance"] > 0,
              "ring n = 50 on the statevector: the verdict comes from the predicted gradient variance")
        out = subprocess.run([qml, "bp", "--circuit", path, "--observable", "Z0 Z1", "--quantity", "loss",
                              "--backend", "auto", "--samples", "20", "--max-dim", "100", "--json"],
                             capture_output=True, text=True, timeout=120)
        r = json.loads(out.stdout)["rows"][0] if out.returncode == 0 else {}
        check(r.get("var_measured", 0) > 0 and abs(r.get("var_predicted", 0) - want) < 1e-12 * want,
              "bp --circuit ring n = 50 past --max-dim 100: measured by g-sim, predicted from the classification")
        out = subprocess.run([qml, "diagnose", path, "--observable", "Z0 Z1", "--backend", "statevector"],
                             capture_output=True, text=True, timeout=120)
        check(out.returncode == 0 and "so(100)" in out.stdout and "9900" in out.stdout
              and "measured   skipped:" in out.stdout and "Var[l]         0.00505" in out.stdout,
              "ring n = 50 text: algebra, prediction, measurement skipped, exit 0")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ringzz50.qasm")
        with open(path, "w") as f:
            f.write(ring(m, bonds_first=True))
        d = diagnose(qml, path, "--observable", "Z0 Z1", "--samples", "20")
        first = d["measured"]["per_weight"][0]
        check(d["prediction"]["first_gate_gradient_variance"] == 0 and first["variance"] < 1e-30,
              "ring n = 50 with the RZZ bonds first: weight 0's gate fixes |0..0>, first-gate variance 0 "
              "predicted and measured (to rounding)")
    # qml bp at n = 50: the TFIM chain's algebra so(100) (dim 4950) passes the closure
    # cap of 4096; the prediction comes from the classification. The first weight's
    # gate is an RZZ, which fixes |0..0>: its gradient is 0 identically, measured and
    # predicted. Past every simulator (the 50-qubit HEA) the row is unmeasured, and says why.
    def bp_rows(*extra):
        out = subprocess.run([qml, "bp", "--qubits", "50-50", "--layers", "2", "--samples", "10", "--backend", "auto",
                              "--threads", "1", "--json", *extra], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            sys.exit(f"qml bp {extra} failed: {out.stderr}")
        return json.loads(out.stdout)["rows"]
    r = bp_rows("--ansatz", "tfim", "--quantity", "loss")[0]
    check(r["dim_g_capped"] and abs(r["var_predicted"] - 49 / (50 * 99)) < 1e-12 and r["var_measured"] > 0,
          "bp TFIM n = 50, loss: predicted (n - 1)/(n(2n - 1)) from the classification, measured by g-sim")
    r = bp_rows("--ansatz", "tfim", "--param", "first")[0]
    check(r["var_predicted"] == 0 and r["var_measured"] == 0 and r["var_stderr"] == 0,
          "bp TFIM n = 50, first weight (an RZZ on |0..0>): 0 measured and 0 predicted")
    r = bp_rows("--ansatz", "tfim", "--param", "middle")[0]
    check(r["var_predicted"] > 0 and r["var_measured"] > 0, "bp TFIM n = 50, middle weight: predicted and measured")
    r = bp_rows("--ansatz", "hea", "--quantity", "loss")[0]
    check(r["samples"] == 0 and r["var_measured"] is None and "no backend applies" in r["not_measured"]
          and abs(r["var_predicted"] * 2.0 ** 50 - 1) < 1e-9,
          "bp HEA n = 50: not measured (and why), predicted 1/(2^n + 1)")
    bad = subprocess.run([qml, "diagnose", os.path.join(qasm_dir, "missing.qasm")], capture_output=True, text=True)
    check(bad.returncode == 1 and "missing.qasm" in bad.stderr, "qml diagnose: a missing file is a clear error")
    print("all diagnose checks passed")


if __name__ == "__main__":
    main()
