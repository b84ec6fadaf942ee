//go:build !amd64

package fir

// Block is the multiple of taps a filter row is padded to.
const Block = 4

// Dot is the filter's inner loop: the dot product of a row of coefficients c (a multiple
// of Block long) with the input window x (at least as long).
func Dot(c, x []float32) float32 { return dotGo(c, x) }

// ToInt16 rounds src to the nearest int16 (ties to even), clamping, into dst[:len(src)].
func ToInt16(dst []int16, src []float32) { toInt16Go(dst, src) }

// polyphase is Polyphase after its checks.
func polyphase(out, table []float32, stride int, x []float32, start, ph, up, step, rem int) {
	polyphaseGo(out, table, stride, x, start, ph, up, step, rem)
}

// pairs is Pairs after its checks.
func pairs(out, row0, row1, x []float32) { pairsGo(out, row0, row1, x) }
