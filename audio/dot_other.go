//go:build !amd64

package audio

// dotBlock is the multiple of taps a filter row is padded to.
const dotBlock = 4

// dot is the filter's inner loop: the dot product of a row of coefficients c (a multiple
// of dotBlock long) with the input window x (at least as long).
func dot(c, x []float32) float32 { return dotGo(c, x) }
