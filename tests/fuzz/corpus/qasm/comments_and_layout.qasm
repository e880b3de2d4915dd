/* Block comments, odd spacing, several statements on one line,
   and lines ending in CR LF. */
OPENQASM 2.0;  // version
include "qelib1.inc";
qreg   q [ 2 ] ;
h q[0];cx q[0] , q[1] ;
rz( - ( theta[0] ) * 2e-1 + 1.5E+0 ) q[1];
ry(+.5) q[0];
