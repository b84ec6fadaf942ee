#include "textflag.h"

// func dotAVX2(c, x *float32, n int) float32
//
// n is a multiple of 8. Eight 8-lane accumulators take 64 floats a step, enough
// independent FMAs to cover their latency; then 32 a step over four, then 8 a step. The
// lanes are summed at the end, so the result may differ from a sequential sum in the last
// bits, as any reordering of float additions does.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ c+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop64:
	CMPQ CX, $64
	JL   loop32
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VMOVUPS 128(SI), Y12
	VMOVUPS 160(SI), Y13
	VMOVUPS 192(SI), Y14
	VMOVUPS 224(SI), Y15
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS 64(DI), Y10, Y2
	VFMADD231PS 96(DI), Y11, Y3
	VFMADD231PS 128(DI), Y12, Y4
	VFMADD231PS 160(DI), Y13, Y5
	VFMADD231PS 192(DI), Y14, Y6
	VFMADD231PS 224(DI), Y15, Y7
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  loop64

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS 64(DI), Y10, Y2
	VFMADD231PS 96(DI), Y11, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX

loop8:
	CMPQ CX, $8
	JL   sum
	VMOVUPS (SI), Y8
	VFMADD231PS (DI), Y8, Y4
	VMOVUPS Y4, Y9 // rotate: the next 8 go to another accumulator
	VMOVUPS Y5, Y4
	VMOVUPS Y6, Y5
	VMOVUPS Y9, Y6
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// The clamp bounds of toInt16AVX2, as float32 bit patterns: 32767.0 and -32768.0.
DATA clampHi<>+0(SB)/4, $0x46fffe00
GLOBL clampHi<>(SB), RODATA|NOPTR, $4
DATA clampLo<>+0(SB)/4, $0xc7000000
GLOBL clampLo<>(SB), RODATA|NOPTR, $4

// func toInt16AVX2(dst *int16, src *float32, n int)
//
// n is a multiple of 8. Clamp to the int16 range, round to nearest (ties to even: the
// default rounding mode), narrow with signed saturation.
TEXT ·toInt16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS clampHi<>(SB), Y14
	VBROADCASTSS clampLo<>(SB), Y15

loop:
	CMPQ CX, $8
	JL   done
	VMOVUPS (SI), Y0
	VMINPS Y14, Y0, Y0
	VMAXPS Y15, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VMOVDQU X0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  loop

done:
	VZEROUPPER
	RET
