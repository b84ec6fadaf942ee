// Package fir holds the inner loop of the audio package's resampler: the dot product of a
// row of filter coefficients with a window of input. It is a package of its own because
// its amd64 version is Go assembly (AVX2 and FMA, eight float32 lanes at a time), which
// the go tool does not build in a package that uses cgo, as audio does.
package fir

import "math"

// dotGo is the portable loop; four accumulators break the dependency chain of one.
// len(c) is a multiple of 4.
func dotGo(c, x []float32) float32 {
	x = x[:len(c)]
	var a0, a1, a2, a3 float32
	for j := 0; j+4 <= len(c); j += 4 {
		a0 += c[j] * x[j]
		a1 += c[j+1] * x[j+1]
		a2 += c[j+2] * x[j+2]
		a3 += c[j+3] * x[j+3]
	}
	return (a0 + a1) + (a2 + a3)
}

// toInt16Go is ToInt16's portable loop, rounding as the AVX2 one does.
func toInt16Go(dst []int16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = int16(math.RoundToEven(float64(min(max(v, -32768), 32767))))
	}
}
