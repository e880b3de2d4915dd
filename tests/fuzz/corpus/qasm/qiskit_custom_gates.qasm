OPENQASM 2.0;
include "qelib1.inc";
gate rzx(param0) q0,q1 { h q1; cx q0,q1; rz(param0) q1; cx q0,q1; h q1; }
gate ryy(param0) q0,q1 { rx(pi/2) q0; rx(pi/2) q1; cx q0,q1; rz(param0) q1; cx q0,q1; rx(-pi/2) q0; rx(-pi/2) q1; }
gate r(param0,param1) q0 { u3(param0,param1 - pi/2,-param1 + pi/2) q0; }
gate layer(a,b) q0,q1 { ry(a) q0; ry(b) q1; rzx(a + b/2) q0,q1; }
qreg q[2];
creg c[2];
rzx(theta[0]) q[0],q[1];
ryy(2*theta[1]) q[0],q[1];
r(theta[2],pi/3) q[0];
layer(0.25,theta[3]) q[1],q[0];
measure q -> c;
