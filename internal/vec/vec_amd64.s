//go:build amd64 && !noasm

#include "textflag.h"

// func addBiasReLU16(x *float32, ld, rows int, bias *float32, nv, relu int)
// For each row: x[c] = x[c] + bias[c] over nv vectors of 16, then max(+0, x)
// when relu != 0 (VMAXPS returns its second source, x, for NaN and zeros).
TEXT ·addBiasReLU16(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ ld+8(FP), DX
	SHLQ $2, DX
	MOVQ rows+16(FP), CX
	MOVQ bias+24(FP), SI
	MOVQ nv+32(FP), R8
	MOVQ relu+40(FP), R9
	VPXORD Z31, Z31, Z31
row16:
	MOVQ DI, AX
	MOVQ SI, BX
	MOVQ R8, R10
col16:
	VMOVUPS (AX), Z0
	VADDPS (BX), Z0, Z0
	TESTQ R9, R9
	JZ store16
	VMAXPS Z0, Z31, Z0
store16:
	VMOVUPS Z0, (AX)
	ADDQ $64, AX
	ADDQ $64, BX
	DECQ R10
	JNZ col16
	ADDQ DX, DI
	DECQ CX
	JNZ row16
	VZEROUPPER
	RET

// func addBiasReLU8(x *float32, ld, rows int, bias *float32, nv, relu int)
TEXT ·addBiasReLU8(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ ld+8(FP), DX
	SHLQ $2, DX
	MOVQ rows+16(FP), CX
	MOVQ bias+24(FP), SI
	MOVQ nv+32(FP), R8
	MOVQ relu+40(FP), R9
	VXORPS Y15, Y15, Y15
row8:
	MOVQ DI, AX
	MOVQ SI, BX
	MOVQ R8, R10
col8:
	VMOVUPS (AX), Y0
	VADDPS (BX), Y0, Y0
	TESTQ R9, R9
	JZ store8
	VMAXPS Y0, Y15, Y0
store8:
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $32, BX
	DECQ R10
	JNZ col8
	ADDQ DX, DI
	DECQ CX
	JNZ row8
	VZEROUPPER
	RET
