OPENQASM 2.0;
include "qelib1.inc";
gate iswap q0,q1 { s q0; s q1; h q0; cx q0,q1; cx q1,q0; h q1; }
gate qml_unitary1_0(m0,m1,m2,m3,m4,m5,m6,m7) q0 { u3(1.5,-0.5,1) q0; }
opaque qml_unitary2(m0,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,m11,m12,m13,m14,m15,m16,m17,m18,m19,m20,m21,m22,m23,m24,m25,m26,m27,m28,m29,m30,m31) q0,q1;
gate ryy(t) q0,q1 { rx(pi/2) q0; rx(pi/2) q1; cx q0,q1; rz(t) q1; cx q0,q1; rx(-pi/2) q0; rx(-pi/2) q1; }
gate qml_pauli_xyz(t) q0,q1,q2 { h q0; sdg q1; h q1; cx q0,q1; cx q1,q2; rz(t) q2; cx q1,q2; cx q0,q1; h q0; h q1; s q1; }
gate qml_pauli_zz(t) q0,q1 { cx q0,q1; rz(t) q1; cx q0,q1; }
gate qml_pauli_z(t) q0 { rz(t) q0; }
gate qml_pauli_i(t) q0 { }
gate qml_evolution_0(t) q0,q1,q2 { qml_pauli_zz(0.5*t) q0,q1; qml_pauli_z(-0.25*t) q2; qml_pauli_i(0.125*t) q0; }
qreg q[3];
qml_unitary1_0(1,0,0,0,0,0,1,0) q[1];
qml_unitary2(1,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,1,0) q[0],q[2];
iswap q[0],q[1];
ryy(0.3 - 2*theta[1]) q[1],q[2];
qml_pauli_xyz(theta[0] + 0.5*x[2]) q[0],q[1],q[2];
qml_evolution_0(-1.25e-3 + theta[2]) q[2],q[0],q[1];
