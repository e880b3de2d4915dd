OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
qreg anc[1];
creg c[2];
gate layer(a) s, t { ry(a) s; cz s, t; }
h q;
rz(0.5*x[0] + pi/4) q[1];
layer(theta[0]) q[0], q[1];
rzz(2*theta[1]) q[1], anc[0];
u3(theta[2], 0, pi) anc[0];
cp(theta[1]) q[0], anc[0];
barrier q, anc;
measure q -> c;
