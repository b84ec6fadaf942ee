package audio

import (
	"math"
)

// Resampler converts one channel of int16 PCM from one rate to another, streaming, with a
// band-limited polyphase FIR filter: a Kaiser-windowed sinc whose cut-off sits just below
// the Nyquist frequency of the lower rate (pass band to 90% of it, at least 80 dB of
// stop-band attenuation from it). Output sample k is taken at input time k·from/to, so the
// filter adds no delay: output and input stay aligned, as with sox.
//
// Its memory is the filter table (fixed by the two rates) plus the input it is handed in
// one Process call; it does not grow with the length of the stream.
type Resampler struct {
	from, to int
	up, down int // to/g and from/g for g = gcd(from, to): output k is at input k·down/up
	half     int // taps either side of the output's position, in input samples
	taps     int // 2·half
	phases   int // rows in table
	exact    bool
	table    []float32 // phases rows of taps coefficients; shared by clones

	hist []float32 // input from absolute index base on
	base int64
	pos  int64 // index of the input sample at or before the next output
	ph   int64 // phase of the next output: its fraction of an input sample is ph/up
	row  []float32
}

// Filter design: the stop band starts at the lower rate's Nyquist frequency and the pass
// band ends at passFraction of it, with stopBandDB of attenuation (Kaiser's formulas).
const (
	passFraction = 0.9
	stopBandDB   = 80.0
	// maxExactPhases bounds the table for rate pairs whose reduced ratio has a large
	// numerator (11025→16000 needs 640); beyond it the table holds interpPhases rows and
	// coefficients between two rows are interpolated linearly.
	maxExactPhases = 1024
	interpPhases   = 512
)

// NewResampler returns a resampler from one rate to another, both in Hz and positive.
// When the rates are equal it copies its input.
func NewResampler(from, to int) *Resampler {
	if from <= 0 || to <= 0 {
		panic("audio: NewResampler needs positive rates")
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, up: to / g, down: from / g}
	if from == to {
		return r
	}
	lower := float64(min(from, to))
	stop := lower / 2
	pass := stop * passFraction
	cutoff := (pass + stop) / 2 / float64(from) // cycles per input sample
	width := (stop - pass) / float64(from)      // transition width, cycles per input sample
	n := (stopBandDB - 7.95) / (2.285 * 2 * math.Pi * width)
	r.half = int(math.Ceil(n/2)) + 1
	r.taps = 2 * r.half
	beta := 0.1102 * (stopBandDB - 8.7)

	r.exact = r.up <= maxExactPhases
	r.phases = r.up
	if !r.exact {
		r.phases = interpPhases + 1 // one more row, for a fraction of exactly 1
	}
	r.table = make([]float32, r.phases*r.taps)
	i0beta := besselI0(beta)
	for p := 0; p < r.phases; p++ {
		var frac float64
		if r.exact {
			frac = float64(p) / float64(r.up)
		} else {
			frac = float64(p) / interpPhases
		}
		row := r.table[p*r.taps : (p+1)*r.taps]
		var sum float64
		coef := make([]float64, r.taps)
		for j := range coef {
			u := float64(j-r.half+1) - frac // distance from the output's position
			x := u / float64(r.half)
			w := 0.0
			if x > -1 && x < 1 {
				w = besselI0(beta*math.Sqrt(1-x*x)) / i0beta
			}
			coef[j] = 2 * cutoff * sinc(2*cutoff*u) * w
			sum += coef[j]
		}
		for j := range row {
			row[j] = float32(coef[j] / sum) // unity gain at DC in every phase
		}
	}
	r.row = make([]float32, r.taps)
	r.reset()
	return r
}

// clone returns a resampler with the same rates that shares r's (read-only) filter table.
func (r *Resampler) clone() *Resampler {
	c := *r
	c.hist, c.row = nil, make([]float32, r.taps)
	c.reset()
	return &c
}

func (r *Resampler) reset() {
	// Before the stream there is silence: half-1 zeros so the first output has its past.
	r.hist = append(r.hist[:0], make([]float32, max(r.half-1, 0))...)
	r.base = -int64(max(r.half-1, 0))
	r.pos, r.ph = 0, 0
}

// Process resamples in, appends the output it can make so far to out and returns it. The
// last half-filter of input is held back until more input or Flush arrives.
func (r *Resampler) Process(out, in []int16) []int16 {
	if r.from == r.to {
		return append(out, in...)
	}
	for _, s := range in {
		r.hist = append(r.hist, float32(s))
	}
	return r.run(out)
}

// Flush appends the output still owed for the input so far, as if silence followed it, and
// resets r for a new stream. The whole stream yields ceil(n·to/from) samples for n in.
func (r *Resampler) Flush(out []int16) []int16 {
	if r.from == r.to {
		return out
	}
	for range r.half {
		r.hist = append(r.hist, 0)
	}
	out = r.run(out)
	r.reset()
	return out
}

// run makes every output whose filter window lies in hist. At Flush, half zeros follow
// the input, so it makes exactly the outputs placed before the end of the input.
func (r *Resampler) run(out []int16) []int16 {
	avail := r.base + int64(len(r.hist)) // one past the last input sample held
	for r.pos+int64(r.half) < avail {
		start := int(r.pos - int64(r.half) + 1 - r.base)
		out = append(out, toInt16(dot(r.coefficients(), r.hist[start:start+r.taps])))
		r.ph += int64(r.down)
		r.pos += r.ph / int64(r.up)
		r.ph %= int64(r.up)
	}
	// Keep only what the next output's window still needs.
	if drop := int(r.pos - int64(r.half) + 1 - r.base); drop > 0 {
		drop = min(drop, len(r.hist))
		n := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:n]
		r.base += int64(drop)
	}
	return out
}

// coefficients returns the filter row for the current phase.
func (r *Resampler) coefficients() []float32 {
	if r.exact {
		return r.table[int(r.ph)*r.taps : int(r.ph+1)*r.taps]
	}
	f := float64(r.ph) / float64(r.up) * interpPhases
	p := int(f)
	t := float32(f - float64(p))
	a := r.table[p*r.taps : (p+1)*r.taps]
	b := r.table[(p+1)*r.taps : (p+2)*r.taps]
	for j := range r.row {
		r.row[j] = a[j] + t*(b[j]-a[j])
	}
	return r.row
}

// dot is the filter's inner loop; four accumulators break the dependency chain of one
// (taps is always even, and a multiple of four but for the last pair).
func dot(c, x []float32) float32 {
	x = x[:len(c)]
	var a0, a1, a2, a3 float32
	j := 0
	for ; j+4 <= len(c); j += 4 {
		a0 += c[j] * x[j]
		a1 += c[j+1] * x[j+1]
		a2 += c[j+2] * x[j+2]
		a3 += c[j+3] * x[j+3]
	}
	for ; j < len(c); j++ {
		a0 += c[j] * x[j]
	}
	return (a0 + a1) + (a2 + a3)
}

func toInt16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by its series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
