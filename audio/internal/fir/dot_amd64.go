package fir

import "golang.org/x/sys/cpu"

// Block is the multiple of taps a filter row is padded to: one AVX-512 register of
// float32 (two AVX2 ones).
const Block = 16

var (
	useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// dotAVX2 returns the dot product of the n float32 at c and at x; n is a multiple of 8.
// It is in dot_amd64.s.
//
//go:noescape
func dotAVX2(c, x *float32, n int) float32

// dotAVX512 is dotAVX2 sixteen lanes at a time; n is a multiple of 16.
//
//go:noescape
func dotAVX512(c, x *float32, n int) float32

// longRow is the row length from which Polyphase takes the AVX-512 kernel: on shorter
// rows the wider registers saved little (measured on Zen 5), and Pairs, which has only
// an AVX2 kernel, must give the same bits as Polyphase on its rows.
const longRow = 256

// polyphase is Polyphase after its checks.
func polyphase(out, table []float32, stride int, x []float32, start, ph, up, step, rem int) {
	if useAVX512 && stride >= longRow {
		polyphaseAVX512(&out[0], len(out), &table[0], stride, &x[0], start, ph, up, step, rem)
		return
	}
	if useAVX2 {
		polyphaseAVX2(&out[0], len(out), &table[0], stride, &x[0], start, ph, up, step, rem)
		return
	}
	polyphaseGo(out, table, stride, x, start, ph, up, step, rem)
}

// Dot is the filter's inner loop: the dot product of a row of coefficients c (a multiple
// of Block long) with the input window x (at least as long).
func Dot(c, x []float32) float32 {
	if len(c) == 0 {
		return 0
	}
	x = x[:len(c)]
	if useAVX512 {
		return dotAVX512(&c[0], &x[0], len(c))
	}
	if useAVX2 {
		return dotAVX2(&c[0], &x[0], len(c))
	}
	return dotGo(c, x)
}

//go:noescape
func polyphaseAVX2(out *float32, n int, table *float32, stride int, x *float32, start, ph, up, step, rem int)

//go:noescape
func polyphaseAVX512(out *float32, n int, table *float32, stride int, x *float32, start, ph, up, step, rem int)

//go:noescape
func pairsAVX2(out *float32, n int, row0, row1 *float32, stride int, x *float32)

// pairs is Pairs after its checks.
func pairs(out, row0, row1, x []float32) {
	if useAVX512 && len(row0) >= longRow {
		// Polyphase would use its AVX-512 kernel on these rows: give the same bits.
		for k := range len(out) / 2 {
			polyphase(out[2*k:2*k+1], row0, len(row0), x[k:], 0, 0, 1, 0, 0)
			polyphase(out[2*k+1:2*k+2], row1, len(row1), x[k:], 0, 0, 1, 0, 0)
		}
		return
	}
	if useAVX2 {
		pairsAVX2(&out[0], len(out)/2, &row0[0], &row1[0], len(row0), &x[0])
		return
	}
	pairsGo(out, row0, row1, x)
}

//go:noescape
func toInt16AVX2(dst *int16, src *float32, n int)

// ToInt16 rounds src to the nearest int16 (ties to even), clamping, into dst[:len(src)].
func ToInt16(dst []int16, src []float32) {
	dst = dst[:len(src)]
	n := len(src) / 8 * 8
	if useAVX2 && n > 0 {
		toInt16AVX2(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	toInt16Go(dst, src)
}
