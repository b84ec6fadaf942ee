package fir

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotMatchesFloat64: Dot of every length a filter row can have, at every alignment of
// the window, agrees with a float64 sum to float32 rounding.
func TestDotMatchesFloat64(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestPolyphaseMatchesDot: Polyphase's outputs are Dot's, row by row and window by window,
// and it returns where the next output starts.
func TestPolyphaseMatchesDot(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tt := range []struct{ up, down, stride int }{{2, 1, 208}, {160, 441, 560}, {1, 3, 48}, {640, 441, 112}} {
		table := make([]float32, tt.up*tt.stride)
		for i := range table {
			table[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, 5000)
		for i := range x {
			x[i] = float32(rng.IntN(65536) - 32768)
		}
		step, rem := tt.down/tt.up, tt.down%tt.up
		start, ph := 3, tt.up/3
		n := (len(x)-tt.stride-start)*tt.up/tt.down - 1
		out := make([]float32, n)
		gotStart, gotPh := Polyphase(out, table, tt.stride, x, start, ph, tt.up, step, rem)
		s, p := start, ph
		for k := range out {
			want := Dot(table[p*tt.stride:][:tt.stride], x[s:])
			if d := math.Abs(float64(out[k] - want)); d > 1e-3*math.Abs(float64(want))+0.5 {
				t.Fatalf("up %d down %d: output %d = %g, Dot gives %g", tt.up, tt.down, k, out[k], want)
			}
			s += step
			if p += rem; p >= tt.up {
				p -= tt.up
				s++
			}
		}
		if gotStart != s || gotPh != p {
			t.Errorf("up %d down %d: next output at (%d, %d), want (%d, %d)", tt.up, tt.down, gotStart, gotPh, s, p)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Polyphase reading past x did not panic")
		}
	}()
	Polyphase(make([]float32, 10), make([]float32, 32), 16, make([]float32, 19), 0, 0, 2, 0, 1) // the last window ends at 20
}

// TestPairsIsPolyphase: the 2:1 kernel gives the same bits as Polyphase.
func TestPairsIsPolyphase(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, stride := range []int{Block, 3 * Block, 208, 13 * Block, 20 * Block, 35 * Block} {
		table := make([]float32, 2*stride)
		for i := range table {
			table[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, 999)
		for i := range x {
			x[i] = float32(rng.IntN(65536) - 32768)
		}
		n := len(x) - stride + 1
		want := make([]float32, 2*n)
		Polyphase(want, table, stride, x, 0, 0, 2, 0, 1)
		got := make([]float32, 2*n)
		Pairs(got, table[:stride], table[stride:], x)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("stride %d: output %d = %v, Polyphase gives %v", stride, i, got[i], want[i])
			}
		}
	}
}
