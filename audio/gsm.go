package audio

// #cgo LDFLAGS: -lgsm
// #include <gsm.h>
// #include <stdlib.h>
//
// /* Decodes n blocks of block bytes from src into dst, frame by frame (a wav49 block is a
//    33-byte and a 32-byte frame; libgsm tracks which half comes next). One cgo call per
//    buffer, not per frame. Returns how many whole blocks decoded before a bad frame. */
// static int callscribe_gsm_decode(gsm g, int wav49, const unsigned char *src, int n, short *dst) {
// 	int block = wav49 ? 65 : 33;
// 	for (int i = 0; i < n; i++) {
// 		const unsigned char *s = src + (long)i * block;
// 		short *d = dst + (long)i * (wav49 ? 320 : 160);
// 		if (gsm_decode(g, (unsigned char *)s, d) < 0) return i;
// 		if (wav49 && gsm_decode(g, (unsigned char *)s + 33, d + 160) < 0) return i;
// 	}
// 	return n;
// }
//
// static gsm callscribe_gsm_create(int wav49) {
// 	gsm g = gsm_create();
// 	if (g && wav49) {
// 		int one = 1;
// 		gsm_option(g, GSM_OPT_WAV49, &one);
// 	}
// 	return g;
// }
import "C"

import (
	"errors"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// gsmHandles counts libgsm states not yet freed, for tests that check none is left open.
var gsmHandles atomic.Int64

// GSM 6.10 full-rate speech, decoded by libgsm (Jutta Degener and Carsten Bormann's
// reference implementation, as sox uses). Two framings: the plain one, 33-byte frames of
// 160 samples (FreeSWITCH's .gsm, sox's -t gsm), and Microsoft's, 65-byte blocks of two
// frames packed differently (WAV format tag 0x31; Asterisk's wav49).
const (
	gsmFrameBytes        = 33
	gsmFrameSamples      = 160
	gsmWAV49BlockBytes   = 65
	gsmWAV49BlockSamples = 320
)

// gsmDecoder holds one libgsm decoder state (it carries filter memory from frame to frame,
// so one stream needs its own). The C state is freed by close, or when the decoder is
// garbage if it never is.
type gsmDecoder struct {
	g       C.gsm // nil once closed
	cleanup runtime.Cleanup
	wav49   bool
}

func newGSM(wav49 bool) (*gsmDecoder, error) {
	w := C.int(0)
	if wav49 {
		w = 1
	}
	g := C.callscribe_gsm_create(w)
	if g == nil {
		return nil, errors.New("audio: gsm_create failed")
	}
	gsmHandles.Add(1)
	d := &gsmDecoder{g: g, wav49: wav49}
	d.cleanup = runtime.AddCleanup(d, func(g C.gsm) { C.gsm_destroy(g); gsmHandles.Add(-1) }, g)
	return d, nil
}

func (d *gsmDecoder) close() {
	if d.g != nil {
		d.cleanup.Stop()
		C.gsm_destroy(d.g)
		d.g = nil
		gsmHandles.Add(-1)
	}
}

func (d *gsmDecoder) decode(dst []int16, src []byte) (int, error) {
	block, samples := gsmFrameBytes, gsmFrameSamples
	if d.wav49 {
		block, samples = gsmWAV49BlockBytes, gsmWAV49BlockSamples
	}
	n := len(src) / block
	if n == 0 {
		return 0, nil
	}
	if d.g == nil {
		return 0, errors.New("audio: gsm decoder used after close")
	}
	if len(dst) < n*samples {
		panic("audio: gsm decode: destination too short")
	}
	w := C.int(0)
	if d.wav49 {
		w = 1
	}
	ok := int(C.callscribe_gsm_decode(d.g, w,
		(*C.uchar)(unsafe.Pointer(unsafe.SliceData(src))), C.int(n),
		(*C.short)(unsafe.Pointer(unsafe.SliceData(dst)))))
	runtime.KeepAlive(d) // the cleanup must not free the state during the call
	if ok < n {
		return ok * samples, errors.New("not a GSM 6.10 frame (bad magic number)")
	}
	return n * samples, nil
}
