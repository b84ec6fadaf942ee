package sphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <string.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>
#include <sphinxbase/feat.h>

// cmd_ln_init is variadic, which cgo cannot call. The configuration is the one
// pocketsphinx_continuous builds: ps_args() defaults, then the model paths.
static cmd_ln_t *cs_config(const char *hmm, const char *lm, const char *dict) {
	return cmd_ln_init(NULL, ps_args(), TRUE,
		"-hmm", hmm, "-lm", lm, "-dict", dict, NULL);
}

static int cs_frate(ps_decoder_t *ps) {
	return (int)cmd_ln_int32_r(ps_get_config(ps), "-frate");
}

// The live cepstral mean: the one piece of a decoder's state that adapts to what it
// has heard and is not reset by ps_start_stream. A fresh decoder starts from -cmninit
// with no frames counted; cs_cmn_save keeps that state and cs_cmn_restore puts it back,
// so that every call decodes as a fresh pocketsphinx_continuous would.
typedef struct {
	mfcc_t *mean, *var, *sum;
	int32 nframe, veclen;
} cs_cmn_t;

static cs_cmn_t *cs_cmn_save(ps_decoder_t *ps) {
	cmn_t *c = ps_get_feat(ps)->cmn_struct;
	cs_cmn_t *s = calloc(1, sizeof *s);
	size_t n = c->veclen * sizeof(mfcc_t);
	s->veclen = c->veclen;
	s->nframe = c->nframe;
	s->mean = malloc(n); memcpy(s->mean, c->cmn_mean, n);
	s->var = malloc(n); memcpy(s->var, c->cmn_var, n);
	s->sum = malloc(n); memcpy(s->sum, c->sum, n);
	return s;
}

static void cs_cmn_restore(ps_decoder_t *ps, cs_cmn_t *s) {
	cmn_t *c = ps_get_feat(ps)->cmn_struct;
	size_t n = s->veclen * sizeof(mfcc_t);
	memcpy(c->cmn_mean, s->mean, n);
	memcpy(c->cmn_var, s->var, n);
	memcpy(c->sum, s->sum, n);
	c->nframe = s->nframe;
}

static void cs_cmn_free(cs_cmn_t *s) {
	free(s->mean); free(s->var); free(s->sum); free(s);
}
*/
import "C"

import (
	"strings"
	"unsafe"

	"callscribe/asr"
)

// quiet turns PocketSphinx's logging off for the whole process. It is used instead of
// "-logfn /dev/null": ps_init applies -logfn through err_set_logfile, which closes the
// previous log file, so a second decoder created while the first one logs would write to
// a closed FILE.
func quiet() { C.err_set_logfp(nil) }

// decoder is one ps_decoder_t. It is not safe for concurrent use; Recognizer hands each
// one to a single call at a time.
type decoder struct {
	ps    *C.ps_decoder_t
	lmath *C.logmath_t
	cmn   *C.cs_cmn_t // the cepstral mean as ps_init left it
	frate int64       // frames per second, to turn frame numbers into milliseconds
	inUtt bool        // between ps_start_utt and ps_end_utt
}

func newDecoder(hmm, lm, dict string) *decoder {
	chmm, clm, cdict := C.CString(hmm), C.CString(lm), C.CString(dict)
	defer C.free(unsafe.Pointer(chmm))
	defer C.free(unsafe.Pointer(clm))
	defer C.free(unsafe.Pointer(cdict))
	cfg := C.cs_config(chmm, clm, cdict)
	if cfg == nil {
		return nil
	}
	ps := C.ps_init(cfg)
	C.cmd_ln_free_r(cfg) // ps_init holds its own reference
	if ps == nil {
		return nil
	}
	return &decoder{ps: ps, lmath: C.ps_get_logmath(ps), cmn: C.cs_cmn_save(ps), frate: int64(C.cs_frate(ps))}
}

// startStream makes the decoder as it was fresh from ps_init: frame numbers count from
// the start of the audio given after it, and the cepstral mean forgets earlier calls
// (without this a reused decoder hears the same audio differently).
func (d *decoder) startStream() bool {
	C.cs_cmn_restore(d.ps, d.cmn)
	return C.ps_start_stream(d.ps) >= 0
}

func (d *decoder) startUtt() bool {
	if C.ps_start_utt(d.ps) < 0 {
		return false
	}
	d.inUtt = true
	return true
}

func (d *decoder) endUtt() bool {
	d.inUtt = false
	return C.ps_end_utt(d.ps) >= 0
}

func (d *decoder) processRaw(samples []int16) bool {
	if len(samples) == 0 {
		return true
	}
	return C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)), 0, 0) >= 0
}

func (d *decoder) inSpeech() bool { return C.ps_get_in_speech(d.ps) != 0 }

// segment returns the words of the utterance just ended, or ok=false when it holds none.
// Frame numbers in this version (5prealpha) count from the start of the stream,
// silence that the VAD dropped included: measured against sentences placed at known
// offsets, see TestTimesMatchSpeech.
func (d *decoder) segment() (seg asr.Segment, ok bool) {
	var texts []string
	var confSum float64
	for it := C.ps_seg_iter(d.ps); it != nil; it = C.ps_seg_next(it) {
		word := C.GoString(C.ps_seg_word(it))
		if isFiller(word) {
			continue
		}
		var sf, ef C.int
		C.ps_seg_frames(it, &sf, &ef)
		prob := C.ps_seg_prob(it, nil, nil, nil)
		conf := float64(C.logmath_exp(d.lmath, prob))
		// logmath_exp rounds, so a certain word comes out a hair above 1.
		conf = min(max(conf, 0), 1)
		w := asr.Word{
			Text:       baseWord(word),
			StartMS:    int64(sf) * 1000 / d.frate,
			EndMS:      (int64(ef) + 1) * 1000 / d.frate, // ef is the word's last frame
			Confidence: conf,
		}
		seg.Words = append(seg.Words, w)
		texts = append(texts, w.Text)
		confSum += conf
	}
	if len(seg.Words) == 0 {
		return asr.Segment{}, false
	}
	seg.StartMS = seg.Words[0].StartMS
	seg.EndMS = seg.Words[len(seg.Words)-1].EndMS
	seg.Text = strings.Join(texts, " ")
	seg.Confidence = confSum / float64(len(seg.Words))
	return seg, true
}

func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		C.cs_cmn_free(d.cmn)
		d.ps, d.cmn = nil, nil
	}
}

// isFiller reports whether a dictionary entry is silence or noise rather than a word:
// <s>, </s>, <sil>, [NOISE], [SPEECH] and the ++GARBAGE++ style of older models.
func isFiller(w string) bool {
	return w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++")
}

// baseWord strips the alternate-pronunciation suffix: "good(2)" is "good".
func baseWord(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
		return w[:i]
	}
	return w
}
