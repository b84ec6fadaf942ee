package audio

import "golang.org/x/sys/cpu"

// dotBlock is the multiple of taps a filter row is padded to: one AVX register of float32.
const dotBlock = 8

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns the dot product of the n float32 at c and at x; n is a multiple of 8.
// It is in dot_amd64.s.
//
//go:noescape
func dotAVX2(c, x *float32, n int) float32

// dot is the filter's inner loop: the dot product of a row of coefficients c (a multiple
// of dotBlock long) with the input window x (at least as long).
func dot(c, x []float32) float32 {
	if len(c) == 0 {
		return 0
	}
	x = x[:len(c)]
	if useAVX2 {
		return dotAVX2(&c[0], &x[0], len(c))
	}
	return dotGo(c, x)
}
