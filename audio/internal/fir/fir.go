// Package fir holds the inner loops of the audio package's resampler: dot products of rows
// of filter coefficients with windows of input (Dot, Polyphase, and Pairs for 2:1), and
// the rounding of the results to int16 (ToInt16). It is a package of its own because its
// amd64 version is Go assembly (AVX2 and FMA, eight float32 lanes at a time; AVX-512 for
// Dot), which the go tool does not build in a package that uses cgo, as audio does. Each
// assembly routine has a portable Go twin, used where the CPU lacks the instructions and
// checked against it in the tests.
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

// Polyphase fills out with the outputs of a polyphase filter whose rows of stride
// coefficients (a multiple of Block) are in table: output k is the dot product of row
// ph_k with x[start_k:][:stride]; from one output to the next ph grows by rem and start
// by step, and when ph reaches up it wraps, moving start on by one more. It returns
// start and ph for the output after the last, and panics if a row or window it would
// read lies outside table or x.
func Polyphase(out, table []float32, stride int, x []float32, start, ph, up, step, rem int) (int, int) {
	n := len(out)
	if n == 0 {
		return start, ph
	}
	adv := ph + (n-1)*rem
	if last := start + (n-1)*step + adv/up; stride%Block != 0 || start < 0 || ph < 0 || ph >= up || rem >= up ||
		last+stride > len(x) || up*stride > len(table) {
		panic("fir: Polyphase would read outside its slices")
	}
	polyphase(out, table, stride, x, start, ph, up, step, rem)
	adv += rem
	return start + n*step + adv/up, adv % up
}

// polyphaseGo is Polyphase's portable loop.
func polyphaseGo(out, table []float32, stride int, x []float32, start, ph, up, step, rem int) {
	for k := range out {
		out[k] = dotGo(table[ph*stride:][:stride], x[start:])
		start += step
		if ph += rem; ph >= up {
			ph -= up
			start++
		}
	}
}

// Pairs fills out with the outputs of a 2:1 upsampler, two per input sample:
// out[2k] = row0·x[k:] and out[2k+1] = row1·x[k:], each the same bits as Polyphase would
// give, with each window loaded once for both rows. len(out) is even; it panics if a
// window would reach past x.
func Pairs(out, row0, row1, x []float32) {
	n := len(out) / 2
	if n == 0 {
		return
	}
	if len(out)%2 != 0 || len(row0) != len(row1) || len(row0)%Block != 0 || n-1+len(row0) > len(x) {
		panic("fir: Pairs would read outside its slices")
	}
	pairs(out, row0, row1, x)
}

// pairsGo is Pairs' portable loop.
func pairsGo(out, row0, row1, x []float32) {
	for k := range len(out) / 2 {
		out[2*k] = dotGo(row0, x[k:])
		out[2*k+1] = dotGo(row1, x[k:])
	}
}
