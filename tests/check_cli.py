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
sys.exit(1 if failures else 0)
