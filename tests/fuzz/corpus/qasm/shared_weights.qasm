// One weight read by several gates, with scales and offsets.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
rzz(2*theta[0]) q[0],q[1];
rzz(2*theta[0]) q[1],q[2];
rx(theta[1]/2 - pi/4) q[0];
rx(-theta[1] + 0.5*x[0]) q[1];
rx(sqrt(2)*theta[1] + x[0]*3 + ln(2)^2) q[2];
