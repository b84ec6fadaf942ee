package fir

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotMatchesFloat64: Dot of every length a filter row can have, at every alignment of
// the window, agrees with a float64 sum to float32 rounding.
func TestDotMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := Block; n <= 40*Block; n += Block {
		c := make([]float32, n)
		x := make([]float32, n+7)
		for i := range c {
			c[i] = float32(rng.NormFloat64() / 10)
		}
		for i := range x {
			x[i] = float32(rng.IntN(65536) - 32768)
		}
		for off := range 8 {
			var want, mag float64
			for i := range c {
				want += float64(c[i]) * float64(x[off+i])
				mag += math.Abs(float64(c[i]) * float64(x[off+i]))
			}
			got := Dot(c, x[off:])
			if d := math.Abs(float64(got) - want); d > mag*1e-6 {
				t.Fatalf("n=%d offset %d: Dot = %g, want %g (off by %g)", n, off, got, want, d)
			}
			if g := dotGo(c, x[off:]); math.Abs(float64(g)-want) > mag*1e-6 {
				t.Fatalf("n=%d offset %d: dotGo = %g, want %g", n, off, g, want)
			}
		}
	}
	if Dot(nil, nil) != 0 {
		t.Errorf("Dot of nothing is not 0")
	}
}

func BenchmarkDot(b *testing.B) {
	c := make([]float32, 288)
	x := make([]float32, 288)
	for i := range c {
		c[i], x[i] = float32(i%7), float32(i%5)
	}
	var s float32
	for b.Loop() {
		s += Dot(c, x)
	}
	_ = s
}

// TestToInt16 checks rounding (ties to even), clamping and every tail length against a
// float64 reference.
func TestToInt16(t *testing.T) {
	special := []float32{0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 32766.5, 32767, 32767.5, 40000,
		-32767.5, -32768, -32768.5, -40000, 1e30, -1e30, 12345.4, -12345.6}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 40 {
		src := make([]float32, n)
		for i := range src {
			if i < len(special) && n%2 == 0 {
				src[i] = special[i]
			} else {
				src[i] = float32(rng.Float64()*80000 - 40000)
			}
		}
		dst := make([]int16, n+1)
		dst[n] = 7 // must be left alone
		ToInt16(dst, src)
		for i, v := range src {
			want := int16(math.RoundToEven(math.Max(-32768, math.Min(32767, float64(v)))))
			if dst[i] != want {
				t.Fatalf("n=%d: ToInt16(%g) = %d, want %d", n, v, dst[i], want)
			}
		}
		if dst[n] != 7 {
			t.Fatalf("n=%d: wrote past len(src)", n)
		}
	}
}
