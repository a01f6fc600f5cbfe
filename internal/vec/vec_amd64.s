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

// func addColSums16(dst, x *float32, ld, rows, nv int)
// For each 16-column vector of dst: acc = dst; acc += x[r] for r in order;
// dst = acc.
TEXT ·addColSums16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX
	MOVQ rows+24(FP), R8
	MOVQ nv+32(FP), R9
	// Four vectors (64 columns) at a time while possible.
cs4:
	CMPQ R9, $4
	JLT cs1
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	MOVQ SI, AX
	MOVQ R8, CX
cs4row:
	VADDPS (AX), Z0, Z0
	VADDPS 64(AX), Z1, Z1
	VADDPS 128(AX), Z2, Z2
	VADDPS 192(AX), Z3, Z3
	ADDQ DX, AX
	DECQ CX
	JNZ cs4row
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $4, R9
	JMP cs4
cs1:
	TESTQ R9, R9
	JZ csdone
	VMOVUPS (DI), Z0
	MOVQ SI, AX
	MOVQ R8, CX
cs1row:
	VADDPS (AX), Z0, Z0
	ADDQ DX, AX
	DECQ CX
	JNZ cs1row
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ R9
	JMP cs1
csdone:
	VZEROUPPER
	RET

// func sgdStep16(p, grad, v *float32, n int, lr, mu, wd float32, mode int)
// n is a multiple of 16. mode: 1 weight decay, 2 momentum, 4 first step,
// 8 Nesterov. The same operations as sgdStepGo, in the same order, with
// separate multiplies and adds.
TEXT ·sgdStep16(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSS lr+32(FP), Z28
	VBROADCASTSS mu+36(FP), Z29
	VBROADCASTSS wd+40(FP), Z30
	MOVQ mode+48(FP), R8
	XORQ AX, AX
sgdloop:
	VMOVUPS (SI)(AX*4), Z0   // d = g
	VMOVUPS (DI)(AX*4), Z1   // p
	TESTQ $1, R8
	JZ nowd
	VMULPS Z1, Z30, Z2
	VADDPS Z2, Z0, Z0        // d = g + wd*p
nowd:
	TESTQ $2, R8
	JZ update
	TESTQ $4, R8
	JZ notfirst
	VMOVAPS Z0, Z3           // v = d
	JMP storev
notfirst:
	VMOVUPS (BX)(AX*4), Z3
	VMULPS Z3, Z29, Z3
	VADDPS Z0, Z3, Z3        // v = mu*v + d
storev:
	VMOVUPS Z3, (BX)(AX*4)
	TESTQ $8, R8
	JZ plain
	VMULPS Z3, Z29, Z4
	VADDPS Z4, Z0, Z0        // d = d + mu*v
	JMP update
plain:
	VMOVAPS Z3, Z0           // d = v
update:
	VMULPS Z0, Z28, Z0
	VSUBPS Z0, Z1, Z1        // p = p - lr*d
	VMOVUPS Z1, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT sgdloop
	VZEROUPPER
	RET

// func reluBackward16(d, act *float32, n int)
// n is a multiple of 16: K1 = (act <= 0) (false for NaN), d = 0 there.
TEXT ·reluBackward16(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ act+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z31, Z31, Z31
	XORQ AX, AX
rbloop:
	VMOVUPS (SI)(AX*4), Z0
	VCMPPS $2, Z31, Z0, K1
	VMOVUPS Z31, K1, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT rbloop
	VZEROUPPER
	RET
