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

// func dotAVX512(c, x *float32, n int) float32
//
// dotAVX2 with 16 lanes: n is a multiple of 16.
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ c+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7

loop128:
	CMPQ CX, $128
	JL   loop64
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z11
	VMOVUPS 256(SI), Z12
	VMOVUPS 320(SI), Z13
	VMOVUPS 384(SI), Z14
	VMOVUPS 448(SI), Z15
	VFMADD231PS (DI), Z8, Z0
	VFMADD231PS 64(DI), Z9, Z1
	VFMADD231PS 128(DI), Z10, Z2
	VFMADD231PS 192(DI), Z11, Z3
	VFMADD231PS 256(DI), Z12, Z4
	VFMADD231PS 320(DI), Z13, Z5
	VFMADD231PS 384(DI), Z14, Z6
	VFMADD231PS 448(DI), Z15, Z7
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $128, CX
	JMP  loop128

loop64:
	CMPQ CX, $64
	JL   loop16
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z11
	VFMADD231PS (DI), Z8, Z0
	VFMADD231PS 64(DI), Z9, Z1
	VFMADD231PS 128(DI), Z10, Z2
	VFMADD231PS 192(DI), Z11, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX

loop16:
	CMPQ CX, $16
	JL   sum
	VMOVUPS (SI), Z8
	VFMADD231PS (DI), Z8, Z4
	VMOVAPS Z4, Z9 // rotate: the next 16 go to another accumulator
	VMOVAPS Z5, Z4
	VMOVAPS Z6, Z5
	VMOVAPS Z9, Z6
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

sum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z4, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func polyphaseAVX2(out *float32, n int, table *float32, stride int, x *float32, start, ph, up, step, rem int)
//
// n outputs of a polyphase filter, each dotAVX2 of row ph of table with x[start:]; after
// each, ph += rem (carrying one into start at up) and start += step. stride is a multiple
// of 8; the caller has checked every row and window lies inside its slice.
TEXT ·polyphaseAVX2(SB), NOSPLIT, $0-80
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), BX
	MOVQ table+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ x+32(FP), R10
	MOVQ start+40(FP), R11
	MOVQ ph+48(FP), R12
	MOVQ up+56(FP), R13
	TESTQ BX, BX
	JZ   end

output:
	MOVQ R12, AX
	IMULQ R9, AX
	LEAQ (R8)(AX*4), SI  // row ph
	LEAQ (R10)(R11*4), DX // window
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VFMADD231PS (DX), Y8, Y0
	VFMADD231PS 32(DX), Y9, Y1
	VFMADD231PS 64(DX), Y10, Y2
	VFMADD231PS 96(DX), Y11, Y3
	ADDQ $128, SI
	ADDQ $128, DX
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JL   sum
	VMOVUPS (SI), Y8
	VFMADD231PS (DX), Y8, Y0
	VMOVAPS Y0, Y9 // rotate: the next 8 go to another accumulator
	VMOVAPS Y1, Y0
	VMOVAPS Y2, Y1
	VMOVAPS Y9, Y2
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  loop8

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, (DI)
	ADDQ $4, DI

	ADDQ step+64(FP), R11
	ADDQ rem+72(FP), R12
	CMPQ R12, R13
	JL   next
	SUBQ R13, R12
	INCQ R11

next:
	DECQ BX
	JNZ  output

end:
	VZEROUPPER
	RET

// func pairsAVX2(out *float32, n int, row0, row1 *float32, stride int, x *float32)
//
// n pairs of outputs of a 2:1 upsampler: out[2k] = row0·x[k:], out[2k+1] = row1·x[k:].
// Each x is loaded once for both rows. Every sum is taken in the same order as in
// polyphaseAVX2, so an output is the same bits whichever of the two computed it.
TEXT ·pairsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), BX
	MOVQ row0+16(FP), R8
	MOVQ row1+24(FP), R9
	MOVQ stride+32(FP), R10
	MOVQ x+40(FP), R11
	TESTQ BX, BX
	JZ   pend

pair:
	MOVQ R8, SI
	MOVQ R9, R12
	MOVQ R11, DX
	MOVQ R10, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

ploop32:
	CMPQ CX, $32
	JL   ploop8
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	VMOVUPS 64(DX), Y10
	VMOVUPS 96(DX), Y11
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS 32(SI), Y9, Y1
	VFMADD231PS 64(SI), Y10, Y2
	VFMADD231PS 96(SI), Y11, Y3
	VFMADD231PS (R12), Y8, Y4
	VFMADD231PS 32(R12), Y9, Y5
	VFMADD231PS 64(R12), Y10, Y6
	VFMADD231PS 96(R12), Y11, Y7
	ADDQ $128, SI
	ADDQ $128, R12
	ADDQ $128, DX
	SUBQ $32, CX
	JMP  ploop32

ploop8:
	CMPQ CX, $8
	JL   psum
	VMOVUPS (DX), Y8
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS (R12), Y8, Y4
	VMOVAPS Y0, Y9 // rotate as polyphaseAVX2 does, for each row
	VMOVAPS Y1, Y0
	VMOVAPS Y2, Y1
	VMOVAPS Y9, Y2
	VMOVAPS Y4, Y9
	VMOVAPS Y5, Y4
	VMOVAPS Y6, Y5
	VMOVAPS Y9, Y6
	ADDQ $32, SI
	ADDQ $32, R12
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  ploop8

psum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VHADDPS X4, X0, X0
	VHADDPS X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $8, DI
	ADDQ $4, R11
	DECQ BX
	JNZ  pair

pend:
	VZEROUPPER
	RET

// func polyphaseAVX512(out *float32, n int, table *float32, stride int, x *float32, start, ph, up, step, rem int)
//
// polyphaseAVX2 sixteen lanes at a time; stride is a multiple of 16.
TEXT ·polyphaseAVX512(SB), NOSPLIT, $0-80
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), BX
	MOVQ table+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ x+32(FP), R10
	MOVQ start+40(FP), R11
	MOVQ ph+48(FP), R12
	MOVQ up+56(FP), R13
	TESTQ BX, BX
	JZ   zend

zoutput:
	MOVQ R12, AX
	IMULQ R9, AX
	LEAQ (R8)(AX*4), SI   // row ph
	LEAQ (R10)(R11*4), DX // window
	MOVQ R9, CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

zloop64:
	CMPQ CX, $64
	JL   zloop16
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z11
	VFMADD231PS (DX), Z8, Z0
	VFMADD231PS 64(DX), Z9, Z1
	VFMADD231PS 128(DX), Z10, Z2
	VFMADD231PS 192(DX), Z11, Z3
	ADDQ $256, SI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  zloop64

zloop16:
	CMPQ CX, $16
	JL   zsum
	VMOVUPS (SI), Z8
	VFMADD231PS (DX), Z8, Z0
	VMOVAPS Z0, Z9 // rotate: the next 16 go to another accumulator
	VMOVAPS Z1, Z0
	VMOVAPS Z2, Z1
	VMOVAPS Z9, Z2
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  zloop16

zsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, (DI)
	ADDQ $4, DI

	ADDQ step+64(FP), R11
	ADDQ rem+72(FP), R12
	CMPQ R12, R13
	JL   znext
	SUBQ R13, R12
	INCQ R11

znext:
	DECQ BX
	JNZ  zoutput

zend:
	VZEROUPPER
	RET
