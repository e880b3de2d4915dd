#!/usr/bin/env python3
"""The public header has no _Complex and no function bodies (docs/abi.md)."""
import re, sys

text = open(sys.argv[1]).read()
code = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
code = re.sub(r'//[^\n]*', '', code)
problems = []
if '_Complex' in code or 'complex.h' in code:
    problems.append('_Complex in a declaration')
if 'static inline' in code or re.search(r'\)\s*\{', code):
    problems.append('a function body')
for p in problems:
    print('qml.h:', p)
sys.exit(1 if problems else 0)
