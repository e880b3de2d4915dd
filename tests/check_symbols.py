#!/usr/bin/env python3
"""The exported dynamic symbols of libqml.so equal the QML_API declarations
of qml.h, and the version script lists exactly those names."""
import re, subprocess, sys

header, mapfile, lib = sys.argv[1:4]
text = open(header).read()
code = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
declared = set(re.findall(r'QML_API\b[^;(]*?\b(qml_\w+)\s*\(', code))
mapped = set(re.findall(r'\b(qml_\w+)\s*;', re.sub(r'/\*.*?\*/', '', open(mapfile).read(), flags=re.S)))
out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True, capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) >= 3 and parts[1] in 'TtWwDdBbRr':
        name = parts[2].split('@')[0]
        if not name.startswith('QML_'):
            exported.add(name)
ok = True
for title, a, b in (('declared but not exported', declared, exported),
                    ('exported but not declared', exported, declared),
                    ('declared but not in libqml.map', declared, mapped),
                    ('in libqml.map but not declared', mapped, declared)):
    missing = sorted(a - b)
    if missing:
        ok = False
        print(title + ':', ' '.join(missing))
print(f'{len(declared)} declared, {len(exported)} exported')
sys.exit(0 if ok else 1)
