package audio

import (
	"math"
	"slices"
	"sync"

	"callscribe/audio/internal/fir"
)

// Resampler converts one channel of PCM from one rate to another, streaming, with a
// band-limited polyphase FIR filter: a Kaiser-windowed sinc designed as sox's default
// `rate` (-h) designs its own: 3 dB down at 95% of the lower rate's Nyquist frequency, at
// least 120 dB of attenuation from that frequency on. Output sample k is taken at input
// time k·from/to, so the filter adds no delay: output and input stay aligned, as with sox.
//
// The table holds one row of coefficients per phase the ratio needs (2 for 8→16 kHz, 160
// for 44.1→16 kHz), computed once per rate pair, so an output sample is one dot product
// of a row with the input window. On amd64 those run eight float32 lanes at a time (AVX2,
// audio/internal/fir), the two phases of 8→16 kHz on one load of the window, and a long
// run of outputs is split over two goroutines.
//
// Its memory is the filter table (fixed by the two rates) plus the input it is handed in
// one Process call; it does not grow with the length of the stream.
type Resampler struct {
	from, to int
	up, down int // to/g and from/g for g = gcd(from, to): output k is at input k·down/up
	half     int // taps either side of the output's position, in input samples
	stride   int // coefficients per table row: 2·half, zero-padded to a multiple of fir.Block
	phases   int // rows in table
	exact    bool
	table    []float32 // phases rows of stride coefficients; shared by clones

	step, rem int // down/up and down%up: how far the input position moves per output

	hist []float32 // input from absolute index base on
	base int64
	pos  int64        // index of the input sample at or before the next output
	ph   int          // phase of the next output: its fraction of an input sample is ph/up
	in   []float32    // Process's input, converted
	acc  []float32    // run's output before rounding
	grp  [2][]float32 // fill's outputs of one phase, for each of run's two goroutines

	seed, noise uint64 // the dither's seed, and its generator's state in this stream
}

// Filter design, sox's: the stop band starts at the lower rate's Nyquist frequency with
// stopBandDB of attenuation (sox's 20-bit precision), the response is 3 dB down at
// bandwidth3dB of it, and the pass band (0 dB) ends where sox's rule of thumb for a Kaiser
// filter puts it from those two: 1 - (1-0.95)/(3 dB in units of the transition) = 91.4%.
// For the recogniser's 16 kHz that is flat to 7.3 kHz, -3 dB at 7.6 kHz and stopped from
// 8 kHz when downsampling (502 taps from 44.1 kHz); for 8 kHz telephony upsampled to
// 16 kHz, flat to 3.65 kHz, -3 dB at 3.8 kHz, images stopped from 4 kHz (184 taps).
// Our first filter was flat to 95% (-6 dB at 97.5%) with 80 dB: it kept more of the band
// edge than sox (43 dB SNR against sox's 8 kHz→16 kHz output), and the recogniser's answer
// on 8 kHz GSM and MP3 differed from sox's by 1–3 words in 30. Now our output before
// dither is sox's before dither to about half a bit RMS, 75 dB SNR (TestResampleMatchesSox).
const (
	bandwidth3dB = 0.95
	stopBandDB   = 120.0
	// maxExactPhases bounds the table for rate pairs whose reduced ratio has a large
	// numerator; beyond it the table holds interpPhases rows and the output between two
	// rows is interpolated linearly (11025→16000 needs 640 rows and stays exact).
	maxExactPhases = 1024
	interpPhases   = 512
)

// passFraction is where the pass band ends, as a fraction of the lower Nyquist frequency:
// sox's bw_0dB from bandwidth3dB and stopBandDB (its TO_3dB, in rate.c).
var passFraction = 1 - (1-bandwidth3dB)/((1.6e-6*stopBandDB-7.5e-4)*stopBandDB+0.646)

// Dither. The filter's output lies between 16-bit steps; rounding it alone leaves an
// error that follows the signal, and digital silence (a PBX's pauses, a codec's idle
// frames) stays perfectly flat or, from A-law, a constant offset. Like sox's default
// conversion we add triangular (TPDF) noise of ±1 step before rounding, which makes the
// error a steady noise floor of half a step RMS, far below any line noise. It is measured,
// not taste: on the 96 words of TestConvertWERNoWorseThanSox, rounding alone cost the
// recogniser 1 to 3 words on 8 kHz 16-bit, µ-law, A-law and MP3 and on 22.05 kHz MP3,
// against sox's default and our dithered output alike (GSM alone did as well or better
// undithered, for sox as for us).
//
// Unlike sox, whose noise is drawn afresh on every run, ours comes from a generator seeded
// per stream (DefaultDitherSeed unless SetDitherSeed says otherwise; Channels adds the
// channel number, so channels get independent noise as sox gives them): the same file
// converts to the same bits, and is transcribed the same way, every time.
const DefaultDitherSeed = 1

// NewResampler returns a resampler from one rate to another, both in Hz and positive.
// When the rates are equal it copies its input; otherwise it dithers its output, seeded
// with DefaultDitherSeed.
func NewResampler(from, to int) *Resampler {
	if from <= 0 || to <= 0 {
		panic("audio: NewResampler needs positive rates")
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, up: to / g, down: from / g, seed: DefaultDitherSeed}
	r.step, r.rem = r.down/r.up, r.down%r.up
	if from == to {
		return r
	}
	key := [2]int{from, to}
	tables.Lock()
	cached, ok := tables.m[key]
	tables.Unlock()
	if ok {
		return cached.clone()
	}
	r.design()
	r.reset()
	if len(r.table) <= maxCachedTable {
		tables.Lock()
		if len(tables.m) >= maxCachedTables {
			clear(tables.m) // a few rate pairs recur; an odd one out costs one rebuild
		}
		tables.m[key] = r.clone()
		tables.Unlock()
	}
	return r
}

// tables keeps the filters of the rate pairs seen lately: a call opens one resampler per
// channel, and the pipeline one decoder per channel, all with the same rates.
var tables = struct {
	sync.Mutex
	m map[[2]int]*Resampler
}{m: map[[2]int]*Resampler{}}

const (
	maxCachedTables = 16
	maxCachedTable  = 256 << 10 // coefficients (1 MiB): larger tables are rebuilt each time
)

// design computes the filter table for r's rates.
func (r *Resampler) design() {
	lower := float64(min(r.from, r.to))
	stop := lower / 2
	pass := stop * passFraction
	cutoff := (pass + stop) / 2 / float64(r.from) // cycles per input sample
	width := (stop - pass) / float64(r.from)      // transition width, cycles per input sample
	n := (stopBandDB - 7.95) / (2.285 * 2 * math.Pi * width)
	r.half = int(math.Ceil(n/2)) + 1
	taps := 2 * r.half
	r.stride = (taps + fir.Block - 1) / fir.Block * fir.Block
	beta := 0.1102 * (stopBandDB - 8.7)

	r.exact = r.up <= maxExactPhases
	r.phases = r.up
	if !r.exact {
		r.phases = interpPhases + 1 // one more row, for a fraction of exactly 1
	}
	r.table = make([]float32, r.phases*r.stride)
	i0beta := besselI0(beta)
	coef := make([]float64, taps)
	for p := 0; p < r.phases; p++ {
		var frac float64
		if r.exact {
			frac = float64(p) / float64(r.up)
		} else {
			frac = float64(p) / interpPhases
		}
		var sum float64
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
		row := r.table[p*r.stride : p*r.stride+taps] // the padding stays zero
		for j := range row {
			row[j] = float32(coef[j] / sum) // unity gain at DC in every phase
		}
	}
}

// clone returns a resampler with the same rates that shares r's (read-only) filter table.
func (r *Resampler) clone() *Resampler {
	c := *r
	c.hist, c.in, c.acc, c.grp = nil, nil, nil, [2][]float32{}
	c.reset()
	return &c
}

// SetDitherSeed restarts r's dither from seed, for this stream and the ones after Flush:
// each seed is another draw of the same noise.
func (r *Resampler) SetDitherSeed(seed uint64) {
	r.seed, r.noise = seed, mix64(seed)
}

func (r *Resampler) reset() {
	r.noise = mix64(r.seed)
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
	r.in = int16sToFloat32(r.in[:0], in)
	return r.processFloat(out, r.in)
}

// processFloat is Process for samples already converted to float32 (still on the int16
// scale), as the channel splitter hands them over.
func (r *Resampler) processFloat(out []int16, in []float32) []int16 {
	if r.from == r.to {
		m := len(out)
		out = slices.Grow(out, len(in))[:m+len(in)]
		fir.ToInt16(out[m:], in)
		return out
	}
	r.hist = append(r.hist, in...)
	return r.run(out)
}

// Flush appends the output still owed for the input so far, as if silence followed it, and
// resets r for a new stream. The whole stream yields ceil(n·to/from) samples for n in.
func (r *Resampler) Flush(out []int16) []int16 {
	if r.from == r.to {
		return out
	}
	// The window of an output at the last input sample reaches stride-half samples past it.
	for range r.stride - r.half {
		r.hist = append(r.hist, 0)
	}
	out = r.run(out)
	r.reset()
	return out
}

// run makes every output whose filter window lies in hist. At Flush, zeros follow the
// input, so it makes exactly the outputs placed before the end of the input.
func (r *Resampler) run(out []int16) []int16 {
	// Output at input position pos reads hist[pos-half+1-base:][:stride].
	start := int(r.pos - int64(r.half) + 1 - r.base)
	// Output k (from 0) starts at start + (ph + k·down)/up; count those whose window fits.
	if last := len(r.hist) - r.stride - start; last >= 0 {
		n := int((int64(last+1)*int64(r.up)-1-int64(r.ph))/int64(r.down) + 1)
		if cap(r.acc) < n {
			r.acc = make([]float32, n)
		}
		acc := r.acc[:n]
		if n < splitOutputs {
			r.fill(acc, start, r.ph, &r.grp[0])
		} else {
			// Two halves on two cores: every output depends only on hist and the table.
			h := n / 2
			adv := int64(r.ph) + int64(h)*int64(r.down)
			var wg sync.WaitGroup
			wg.Go(func() { r.fill(acc[h:], start+int(adv/int64(r.up)), int(adv%int64(r.up)), &r.grp[1]) })
			r.fill(acc[:h], start, r.ph, &r.grp[0])
			wg.Wait()
		}
		r.noise = dither(acc, r.noise)
		m := len(out)
		out = slices.Grow(out, n)[:m+n]
		fir.ToInt16(out[m:], acc)
		adv := int64(r.ph) + int64(n)*int64(r.down)
		start += int(adv / int64(r.up))
		r.ph = int(adv % int64(r.up))
	}
	r.pos = int64(start) + r.base + int64(r.half) - 1
	// Keep only what the next output's window still needs.
	if drop := int(r.pos - int64(r.half) + 1 - r.base); drop > 0 {
		drop = min(drop, len(r.hist))
		k := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:k]
		r.base += int64(drop)
	}
	return out
}

// splitOutputs is how many outputs one run must make before it splits them over two
// goroutines: below it, handing half over costs more than it saves.
const splitOutputs = 2048

// groupTable is the table size (coefficients) from which fill takes the outputs of one
// phase together: 8192 coefficients are 32 KiB, most of an L1 data cache.
const groupTable = 8192

// fill computes len(acc) consecutive outputs, the first at hist[start:] with phase ph.
func (r *Resampler) fill(acc []float32, start, ph int, grp *[]float32) {
	hist, stride, table := r.hist, r.stride, r.table
	up, step, rem := r.up, r.step, r.rem
	if r.exact && up > 2 && len(acc) >= 2*up && up*stride > groupTable {
		// Outputs k, k+up, k+2up… share a row. Taking them together keeps that row in
		// the L1 cache, where taking outputs in order walks the whole table each time
		// (160 rows of 560 from 44.1 kHz: 350 KiB). Same kernel, so the same bits.
		m := (len(acc) + up - 1) / up
		if cap(*grp) < m {
			*grp = make([]float32, m)
		}
		for k0 := range up {
			adv := int64(ph) + int64(k0)*int64(r.down)
			s, p := start+int(adv/int64(up)), int(adv%int64(up))
			g := (*grp)[:(len(acc)-k0+up-1)/up]
			fir.Polyphase(g, table[p*stride:(p+1)*stride], stride, hist, s, 0, 1, r.down, 0)
			for j, v := range g {
				acc[k0+j*up] = v
			}
		}
		return
	}
	if r.up == 2 && r.down == 1 {
		// 2:1 (8 kHz telephony to 16 kHz): outputs come in pairs on one window.
		if ph == 1 && len(acc) > 0 {
			// One odd output first; the pairs below then start on phase 0.
			start, _ = fir.Polyphase(acc[:1], table, stride, hist, start, ph, up, step, rem)
			acc = acc[1:]
		}
		n := len(acc) / 2
		fir.Pairs(acc[:2*n], table[:stride], table[stride:2*stride], hist[start:])
		if len(acc)%2 == 1 {
			fir.Polyphase(acc[2*n:], table, stride, hist, start+n, 0, up, step, rem)
		}
		return
	}
	if r.exact {
		fir.Polyphase(acc, table, stride, hist, start, ph, up, step, rem)
		return
	}
	for k := range acc {
		f := float64(ph) / float64(up) * interpPhases
		p := int(f)
		t := float32(f - float64(p))
		x := hist[start:]
		a := fir.Dot(table[p*stride:][:stride], x)
		b := fir.Dot(table[(p+1)*stride:][:stride], x)
		acc[k] = a + t*(b-a)
		start += step
		if ph += rem; ph >= up {
			ph -= up
			start++
		}
	}
}

// dither adds TPDF noise of ±1 (one 16-bit step) to every sample of acc, from the
// generator state x, and returns the state after it. Each step of a 64-bit LCG (PCG's
// multiplier) yields both uniform terms from its high 32 bits, whose period is 2^64.
// One chain of steps would wait on each multiply; four interleaved chains, each jumping
// four steps at a time, make the same sequence about three times as fast.
func dither(acc []float32, x uint64) uint64 {
	i := 0
	if len(acc) >= 4 {
		s0 := x*lcgMul + lcgInc
		s1 := s0*lcgMul + lcgInc
		s2 := s1*lcgMul + lcgInc
		s3 := s2*lcgMul + lcgInc
		for ; i+4 <= len(acc); i += 4 {
			a := acc[i : i+4 : i+4]
			a[0] += tpdf(s0)
			a[1] += tpdf(s1)
			a[2] += tpdf(s2)
			a[3] += tpdf(s3)
			x = s3
			s0, s1, s2, s3 = s0*jumpMul+jumpInc, s1*jumpMul+jumpInc, s2*jumpMul+jumpInc, s3*jumpMul+jumpInc
		}
	}
	for ; i < len(acc); i++ {
		x = x*lcgMul + lcgInc
		acc[i] += tpdf(x)
	}
	return x
}

// tpdf is the sum of two uniform values in [-½, ½) from the high 32 bits of x, added as
// integers and scaled once (exact: the sum has 17 bits).
func tpdf(x uint64) float32 {
	return float32(int32(int16(x>>48))+int32(int16(x>>32))) * (1.0 / 65536)
}

const (
	lcgMul = 6364136223846793005
	lcgInc = 1442695040888963407
)

// jumpMul and jumpInc take the LCG four steps at once: x·m⁴ + c·(m³+m²+m+1).
var jumpMul, jumpInc = func() (uint64, uint64) {
	m, c := uint64(1), uint64(0)
	for range 4 {
		m, c = m*lcgMul, c*lcgMul+lcgInc
	}
	return m, c
}()

// mix64 spreads a seed over all 64 bits (splitmix64's finaliser), so seeds 1, 2, 3… start
// the generator far apart.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// int16sToFloat32 appends in, converted, to out.
func int16sToFloat32(out []float32, in []int16) []float32 {
	n := len(out)
	out = append(out, make([]float32, len(in))...)
	dst := out[n:]
	dst = dst[:len(in)]
	for i, s := range in {
		dst[i] = float32(s)
	}
	return out
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
