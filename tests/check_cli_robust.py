#!/usr/bin/env python3
"""The qml program on hostile input: endless streams, long lines, absurd
counts and unwritable folders fail fast with one clear message, and a long
generator line is one generator (not split into pieces)."""
import os, subprocess, sys, tempfile

qml = sys.argv[1]
failures = 0


def run(args, code, contains=None, lacks=None, timeout=30):
    """Run qml; check the exit code and the text of stdout + stderr."""
    global failures
    try:
        p = subprocess.run([qml] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        failures += 1
        print('FAIL qml', ' '.join(args), f': no answer within {timeout} s')
        return None
    out = p.stdout + p.stderr
    problems = []
    if code is not None and p.returncode != code:
        problems.append(f'exit {p.returncode}, expected {code}')
    if contains is not None and contains not in out:
        problems.append(f'output lacks {contains!r}')
    if lacks is not None and lacks in out:
        problems.append(f'output holds {lacks!r}')
    if problems:
        failures += 1
        print('FAIL qml', ' '.join(args), ':', '; '.join(problems))
        print('  stdout:', p.stdout[:600])
        print('  stderr:', p.stderr[:600])
    else:
        print('ok   qml', ' '.join(args)[:100])
    return p


# Endless streams: used to loop forever (bp) or grow until memory ran out (dla).
if os.path.exists('/dev/zero'):
    run(['bp', '--ansatz', 'file:/dev/zero'], 1, contains='NUL byte', timeout=20)
    run(['dla', '/dev/zero'], 1, contains='NUL byte', timeout=20)

# A C caller's -1 as a shot count: used never to return.
run(['grad', '--qubits', '2', '--layers', '1', '--method', 'shift', '--shots', '18446744073709551615'], 1,
    contains='QML_SHOTS_MAX', timeout=20)

with tempfile.TemporaryDirectory() as tmp:
    # One generator longer than 4095 bytes: bp read it in 4095-byte pieces,
    # each a generator of its own (dim_g 2 or more); dla reads 1.
    terms = ['0.001*' + ' '.join(f'Z{q}' for q in range(9) if m >> q & 1) for m in range(1, 300)]
    text = ' + '.join(terms)
    assert len(text) > 4096
    long_file = os.path.join(tmp, 'long.txt')
    with open(long_file, 'w') as f:
        f.write('# one long generator\n\n' + text + '\n')
    p = run(['bp', '--ansatz', 'file:' + long_file, '--samples', '2', '--layers', '1', '--csv'], 0, timeout=120)
    if p is not None and p.returncode == 0:
        rows = [l for l in p.stdout.splitlines() if l and l[0].isdigit()]
        dims = [l.split(',')[3] for l in rows]
        if dims != ['1']:
            failures += 1
            print('FAIL bp on one long generator: dim_g', dims, 'expected [1]')
        else:
            print('ok   bp on one long generator: dim_g 1')
    run(['dla', long_file], 0, contains='dim         1')

    # Errors name the file's own line number, once prefixed.
    bad = os.path.join(tmp, 'bad.txt')
    with open(bad, 'w') as f:
        f.write('# comment\n\nX0\nZ1\nQ7\n')
    run(['bp', '--ansatz', 'file:' + bad], 1, contains='bad.txt line 5: parse error', lacks='qml: parse')

    # A file with a NUL byte in it is not text.
    nul = os.path.join(tmp, 'nul.txt')
    with open(nul, 'wb') as f:
        f.write(b'X0\nZ0\x00\n')
    run(['bp', '--ansatz', 'file:' + nul], 1, contains='NUL byte')

# paradox: an unwritable folder fails before any computing, not after minutes.
if os.path.isdir('/proc'):
    run(['paradox', '--quick', '--out', '/proc'], 1, contains='cannot write', timeout=10)
with tempfile.TemporaryDirectory() as tmp:
    if os.geteuid() != 0:
        ro = os.path.join(tmp, 'ro')
        os.mkdir(ro, 0o555)
        run(['paradox', '--quick', '--out', ro], 1, contains='cannot write', timeout=10)

print(f'{failures} failure(s)')
sys.exit(1 if failures else 0)
