OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
rx(0.5) q[0];
cx q[0],q[1];
ry(0.2) q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
