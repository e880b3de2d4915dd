#!/usr/bin/env python3
"""End-to-end checks of the qml program: outputs and exit codes."""
import subprocess, sys

qml = sys.argv[1]
failures = 0

def run(args, code=0, stdout=None, contains=None):
    global failures
    p = subprocess.run([qml] + args, capture_output=True, text=True, timeout=120)
    problems = []
    if p.returncode != code:
        problems.append(f'exit {p.returncode}, expected {code}')
    if stdout is not None and p.stdout.strip() != stdout:
        problems.append(f'stdout {p.stdout.strip()!r}, expected {stdout!r}')
    if contains is not None and contains not in p.stdout + p.stderr:
        problems.append(f'output lacks {contains!r}')
    if code != 0 and not p.stderr.strip():
        problems.append('failure with nothing on stderr')
    if problems:
        failures += 1
        print('FAIL qml', ' '.join(args), ':', '; '.join(problems))
        print('  stdout:', p.stdout[:500])
        print('  stderr:', p.stderr[:500])
    else:
        print('ok   qml', ' '.join(args))

run(['version'], contains='qml ')
run(['pauli', 'bracket', 'X0 X1', 'Z0'], stdout='-2*Y0 X1')
run(['pauli', 'bracket', 'X0', 'Y0'], stdout='2*Z0')
run(['pauli', 'inner', '0.5*X0 + 2*Z1', 'X0 - Z1'], stdout='-1.5')
run(['pauli', 'bracket', 'X0 +', 'Y0'], code=1, contains='parse')
run(['pauli'], code=2)
run(['no-such-command'], code=2)

# qml dla: open TFIM on 3 qubits is so(6) = su(4), dimension 15 (n(2n-1)).
import json, math, os, tempfile
with tempfile.TemporaryDirectory() as tmp:
    gens = os.path.join(tmp, 'tfim3.txt')
    with open(gens, 'w') as f:
        f.write('# open transverse-field Ising chain, local parameters\nX0\nX1\nX2\n\nZ0 Z1\nZ1 Z2\n')
    p = subprocess.run([qml, 'dla', '--json', gens], capture_output=True, text=True, timeout=120)
    try:
        d = json.loads(p.stdout)
        assert d['schema'] == 'qml-dla/1' and d['run']['command'] == 'dla', d
        assert d['qubits'] == 3 and d['dim'] == 15 and d['centre_dim'] == 0, d
        assert len(d['ideals']) == 1 and d['ideals'][0]['dim'] == 15 and d['ideals'][0]['rank'] == 3, d
        assert 'su(4)' in d['ideals'][0]['names'], d
        print('ok   qml dla --json tfim3')
    except Exception as e:  # noqa: BLE001 - report any mismatch
        failures += 1
        print('FAIL qml dla --json tfim3:', e, p.stdout, p.stderr)
    # The Ragone et al. closed form for Z0 Z1 on the open TFIM chain: (n-1)/(n(2n-1)).
    run(['dla', '--purity', 'Z0 Z1', '--state', 'zero', gens], contains='0.1333333333')
    with open(gens, 'w') as f:
        f.write('X0 +\n')
    run(['dla', gens], code=1, contains='parse')
# File errors give the system's reason.
run(['dla', '/nonexistent/generators.txt'], code=1, contains='No such file or directory')
run(['bp', '--ansatz', 'file:/nonexistent/g.txt', '--qubits', '2-3'], code=1, contains='No such file or directory')

# qml grad: one qubit, one layer: <Z> = cos w0 and d<Z>/dw0 = -sin w0.
p = subprocess.run([qml, 'grad', '--ansatz', 'hea', '--qubits', '1', '--layers', '1', '--seed', '3'],
                   capture_output=True, text=True, timeout=120)
try:
    lines = dict(l.split()[:2] for l in p.stdout.splitlines() if l and not l.startswith('#'))
    value, dw0 = float(lines['value']), float(lines['dw[0]'])
    assert abs(value * value + dw0 * dw0 - 1) < 1e-12, (value, dw0)
    print('ok   qml grad hea 1x1: value^2 + grad^2 = 1')
except Exception as e:  # noqa: BLE001
    failures += 1
    print('FAIL qml grad:', e, p.stdout, p.stderr)

# --opt=value is --opt value, for every command (one normalisation in main.c).
p1 = subprocess.run([qml, 'grad', '--qubits=2', '--layers=1', '--seed=5'], capture_output=True, text=True, timeout=60)
p2 = subprocess.run([qml, 'grad', '--qubits', '2', '--layers', '1', '--seed', '5'], capture_output=True, text=True,
                    timeout=60)
strip = lambda out: [l for l in out.splitlines() if not l.startswith('#')]
if p1.returncode == 0 and strip(p1.stdout) == strip(p2.stdout) and strip(p1.stdout):
    print('ok   qml grad --qubits=2 --layers=1 --seed=5')
else:
    failures += 1
    print('FAIL qml grad --opt=value:', p1.returncode, p1.stdout, p1.stderr)
# Mutually exclusive flags are refused.
run(['bp', '--json', '--csv', '--qubits', '2-3'], code=2, contains='exclude')

# Every --json output starts with schema, version and the run's metadata.
for args in (['version', '--json'], ['grad', '--qubits', '1', '--layers', '1', '--seed', '3', '--json'],
             ['pauli', 'bracket', 'X0', 'Y0', '--json'], ['pauli', 'inner', 'X0', 'X0 + Z0', '--json']):
    p = subprocess.run([qml] + args, capture_output=True, text=True, timeout=60)
    try:
        d = json.loads(p.stdout)
        assert list(d)[:3] == ['schema', 'version', 'run'], d
        assert d['schema'] == 'qml-%s/1' % args[0] and d['run']['command'] == args[0], d
        assert d['run']['arguments'] == args[1:], d
        if args[0] == 'grad':
            assert abs(d['value'] ** 2 + d['gradient'][0] ** 2 - 1) < 1e-12, d
        if args[:2] == ['pauli', 'bracket']:
            assert d['sum'] == '2*Z0' and d['value'] is None, d
        if args[:2] == ['pauli', 'inner']:
            assert d['value'] == 1 and d['sum'] is None, d
        print('ok   qml', ' '.join(args))
    except Exception as e:  # noqa: BLE001
        failures += 1
        print('FAIL qml', ' '.join(args), e, p.stdout, p.stderr)

# qml bp --csv: stdout is pure CSV (every line a row of the header's width);
# the fit goes to stderr.
p = subprocess.run([qml, 'bp', '--ansatz', 'tfim', '--qubits', '2-4', '--layers-per-qubit', '2',
                    '--samples', '20', '--param', 'middle', '--csv', '--threads', '2'],
                   capture_output=True, text=True, timeout=300)
try:
    import csv, io
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert p.returncode == 0 and rows[0][0] == 'n' and len(rows) == 4, rows
    assert all(len(r) == len(rows[0]) and float(r[4]) > 0 for r in rows[1:]), rows
    assert 'fit' in p.stderr, p.stderr
    print('ok   qml bp --csv: pure CSV, fit on stderr')
except Exception as e:  # noqa: BLE001
    failures += 1
    print('FAIL qml bp --csv:', e, p.stdout[:1000], p.stderr[:1000])

# qml bp --json: the row keys are exactly the documented ones.
p = subprocess.run([qml, 'bp', '--ansatz', 'tfim', '--qubits', '2-4', '--layers-per-qubit', '4',
                    '--samples', '100', '--param', 'middle', '--json', '--threads', '2'],
                   capture_output=True, text=True, timeout=300)
try:
    d = json.loads(p.stdout)
    keys = {'n', 'layers', 'samples', 'dim_g', 'dim_g_capped', 'var_measured', 'var_stderr', 'var_predicted',
            'ideals', 'structure_message', 'seconds'}
    # Three points: the fit warns that the model choice means little.
    assert d['schema'] == 'qml-bp/1' and 'at least 4' in d['fit_warning'], d
    assert [r['n'] for r in d['rows']] == [2, 3, 4], d
    assert all(set(r) == keys for r in d['rows']), d['rows']
    assert all(r['var_measured'] > 0 and r['var_stderr'] > 0 for r in d['rows']), d['rows']
    assert [r['dim_g'] for r in d['rows']] == [6, 15, 28], d['rows']
    assert d['fit']['model'] in ('exponential', 'power') and math.isfinite(d['fit']['rate']), d['fit']
    print('ok   qml bp --json tfim 2-4')
except Exception as e:  # noqa: BLE001
    failures += 1
    print('FAIL qml bp --json:', e, p.stdout[:1000], p.stderr[:1000])
run(['bp', '--ansatz', 'nosuch', '--qubits', '2-3'], code=2)

# qml bench gate: one gate against the limits of the same run, A/B between two values of a switch.
p = subprocess.run([qml, 'bench', 'gate', '--gate', 'CNOT', '--qubits', '3,1', '--n', '12', '--repeat', '3',
                    '--quick', '--ab', 'pair_walk=-1,0', '--json'], capture_output=True, text=True, timeout=120)
try:
    d = json.loads(p.stdout)
    assert p.returncode == 0 and d['schema'] == 'qml-bench-gate/1', d
    assert d['gate'] == 'cnot' and d['qubits'] == [3, 1] and d['n'] == 12 and d['switch'] == 'pair_walk', d
    assert [v['value'] for v in d['variants']] == [-1, 0], d['variants']
    assert d['variants'][0]['ratio_to_first'] == 1, d['variants']
    assert all(v['ns_median'] > 0 and v['share_of_limit'] > 0 and v['share_of_pattern_limit'] > 0 and
               math.isfinite(v['ratio_to_first']) for v in d['variants']), d['variants']
    # a CNOT with its control at 3 or above moves half of a full sweep's bytes
    assert d['bytes_fraction'] == 0.5, d
    print('ok   qml bench gate --json --ab')
except Exception as e:  # noqa: BLE001
    failures += 1
    print('FAIL qml bench gate --json --ab:', e, p.stdout[:1000], p.stderr[:1000])
run(['bench', 'gate', '--gate', 'ry', '--qubits', '5', '--n', '10', '--repeat', '1', '--quick'], contains='share')
run(['bench', 'gate', '--gate', 'nosuch', '--qubits', '1'], code=2, contains='unknown gate')
run(['bench', 'gate', '--gate', 'cnot', '--qubits', '1'], code=2, contains='takes 2 qubit')
run(['bench', 'gate', '--gate', 'x', '--qubits', '12', '--n', '10'], code=2, contains='out of range')
run(['bench', 'gate', '--gate', 'x', '--qubits', '1', '--ab', 'nosuch=0,1'], code=2, contains='bad --ab')
run(['bench', 'gate', '--qubits', '1'], code=2, contains='required')

# qml bp carries each row's simple ideals and their certificates, worded as
# qml dla words them: sp(4) (decided by the classification) beside 2 so(5)
# (left to enumeration) is certified part by part, and the message says so.
with tempfile.TemporaryDirectory() as tmp:
    gens = os.path.join(tmp, 'spmix.txt')
    with open(gens, 'w') as f:
        f.write('X0\nZ0\nX1\nZ1\nX2\nZ2\nZ0 Z1 Z2\nX4 X5\nZ4 Y5 Z6\nY4 Z6 X7\nZ5 Z7\nX6 Y7 Z4\n')
    message = 'certificates: the classification decides 1 of 2 independent parts'
    run(['bp', '--ansatz', 'file:' + gens, '--samples', '20', '--observable', 'Z0 Z1'],
        contains='# n = 8: ideal 0: dim 36, rank 4: sp(4) (simple: classification+shape+decomposition)')
    run(['bp', '--ansatz', 'file:' + gens, '--samples', '20', '--observable', 'Z0 Z1'], contains=message)
    run(['dla', gens], contains='  ideal 0: dim 36, rank 4: sp(4) (simple: classification+shape+decomposition)')
    run(['dla', gens], contains=message.replace(': ', ' ', 1))
    p = subprocess.run([qml, 'bp', '--ansatz', 'file:' + gens, '--samples', '20', '--json'],
                       capture_output=True, text=True, timeout=120)
    q = subprocess.run([qml, 'dla', '--json', gens], capture_output=True, text=True, timeout=120)
    try:
        row = json.loads(p.stdout)['rows'][0]
        dla = json.loads(q.stdout)
        assert row['ideals'] == dla['ideals'], (row['ideals'], dla['ideals'])
        assert [i['certificates'] for i in row['ideals']] == [
            'classification+shape+decomposition', 'shape+decomposition', 'shape+decomposition'], row
        assert row['structure_message'] == dla['structure_message'] and 'decides 1 of 2' in row['structure_message']
        print('ok   qml bp --json: ideals and certificates as qml dla --json gives them')
    except Exception as e:  # noqa: BLE001
        failures += 1
        print('FAIL qml bp --json certificates:', e, p.stdout[:1000], q.stdout[:1000])
run(['bp', '--ansatz', 'tfim', '--qubits', '3-4', '--samples', '20'],
    contains='# n = 4: ideal 0: dim 28, rank 4: so(8) (simple: classification+decomposition)')

sys.exit(1 if failures else 0)
