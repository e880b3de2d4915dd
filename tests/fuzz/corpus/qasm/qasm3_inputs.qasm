OPENQASM 3.0;
include "stdgates.inc";
input array[angle, 4] theta;
input array[float[64], 2] x;
qubit[2] q;
bit[2] c;
/* encoding, then two trainable layers */
rx(x[0]) q[0];
rx(x[1]) q[1];
ry(theta[0]) q[0];
ry(theta[1]) q[1];
cz q[0], q[1];
ry(theta[2]) q[0];
ry(theta[3]) q[1];
c = measure q;
