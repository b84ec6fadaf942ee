package fir

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotKernelsAgree runs every kernel this machine has on the same rows.
func TestDotKernelsAgree(t *testing.T) {
	t.Parallel()
	t.Logf("AVX-512: %v, AVX2: %v", useAVX512, useAVX2)
	saved512, saved2 := useAVX512, useAVX2
	defer func() { useAVX512, useAVX2 = saved512, saved2 }()
	rng := rand.New(rand.NewPCG(7, 8))
	c := make([]float32, 40*Block)
	x := make([]float32, len(c)+3)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 1000)
	}
	for n := Block; n <= len(c); n += Block {
		var got []float32
		for _, k := range []struct{ v512, v2 bool }{{saved512, saved2}, {false, saved2}, {false, false}} {
			useAVX512, useAVX2 = k.v512, k.v2
			got = append(got, Dot(c[:n], x[3:]))
		}
		for _, g := range got[1:] {
			if d := math.Abs(float64(g - got[0])); d > 1e-3*math.Abs(float64(got[0]))+1e-2 {
				t.Fatalf("n=%d: kernels disagree: %v", n, got)
			}
		}
	}
}

func BenchmarkKernels(b *testing.B) {
	for _, n := range []int{112, 208, 288, 560} {
		c := make([]float32, n)
		x := make([]float32, n)
		for i := range c {
			c[i], x[i] = float32(i%7), float32(i%5)
		}
		b.Run(fmt.Sprintf("avx512-%d", n), func(b *testing.B) {
			for b.Loop() {
				dotAVX512(&c[0], &x[0], n)
			}
		})
		b.Run(fmt.Sprintf("avx2-%d", n), func(b *testing.B) {
			for b.Loop() {
				dotAVX2(&c[0], &x[0], n)
			}
		})
	}
}

// TestPortableLoopsAgree: Polyphase, Pairs and ToInt16 give the same outputs (to float
// rounding) with the assembly turned off, as on a CPU without AVX2.
func TestPortableLoopsAgree(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 14))
	stride := 13 * Block
	table := make([]float32, 3*stride)
	for i := range table {
		table[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, 3000)
	for i := range x {
		x[i] = float32(rng.IntN(65536) - 32768)
	}
	run := func() ([]float32, []float32, []int16) {
		poly := make([]float32, 1000)
		Polyphase(poly, table, stride, x, 5, 1, 3, 2, 2)
		pairs := make([]float32, 2000)
		Pairs(pairs, table[:stride], table[stride:2*stride], x)
		ints := make([]int16, len(poly))
		ToInt16(ints, poly)
		return poly, pairs, ints
	}
	p1, q1, i1 := run()
	saved := useAVX2
	useAVX2 = false
	p2, q2, i2 := run()
	useAVX2 = saved
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"Polyphase", p1, p2}, {"Pairs", q1, q2}} {
		for i := range c.a {
			if d := math.Abs(float64(c.a[i] - c.b[i])); d > 1e-3*math.Abs(float64(c.a[i]))+0.5 {
				t.Fatalf("%s output %d: %v with AVX2, %v without", c.name, i, c.a[i], c.b[i])
			}
		}
	}
	for i := range i1 {
		if d := int(i1[i]) - int(i2[i]); d < -1 || d > 1 {
			t.Fatalf("ToInt16 %d: %d with AVX2, %d without", i, i1[i], i2[i])
		}
	}
}
