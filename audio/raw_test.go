package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"callscribe"
)

// decodeAllRaw is decodeAll for OpenRaw.
func decodeAllRaw(t testing.TB, r io.Reader, f RawFormat) (Format, []int16, error) {
	t.Helper()
	d, err := OpenRaw(r, f)
	if err != nil {
		return Format{}, nil, err
	}
	return readAll(t, d)
}

// readAll reads d to the end, like decodeAll, with a buffer of an odd size.
func readAll(t testing.TB, d *Decoder) (Format, []int16, error) {
	t.Helper()
	var all []int16
	buf := make([]int16, 3000)
	for {
		n, err := d.Read(buf)
		if n%d.Format().Channels != 0 {
			t.Fatalf("Read returned %d samples, not whole frames of %d channels", n, d.Format().Channels)
		}
		all = append(all, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return d.Format(), all, nil
		}
		if err != nil {
			return d.Format(), all, err
		}
	}
}

func TestOpenRawS16(t *testing.T) {
	t.Parallel()
	samples := sine(8001, 440, 8000, 20000)
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	f, got, err := decodeAllRaw(t, bytes.NewReader(data), RawFormat{"s16", 8000, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Format{"raw", "pcm_s16le", 8000, 1}); f != want {
		t.Errorf("Format() = %+v, want %+v", f, want)
	}
	if !slicesEqual(got, samples) {
		t.Errorf("decoded %d samples not equal to the %d written", len(got), len(samples))
	}
	// Stereo: one sample short of a frame at the end is a truncation, after the rest.
	_, got, err = decodeAllRaw(t, bytes.NewReader(data), RawFormat{"s16", 8000, 2})
	wantUnreadable(t, err, "raw: truncated: stream ends inside a 4-byte frame")
	if want := len(samples) - 1; len(got) != want {
		t.Errorf("decoded %d samples before the error, want %d", len(got), want)
	}
}

func TestOpenRawInvalidFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    RawFormat
		want string
	}{
		{RawFormat{"mp3", 8000, 1}, `encoding "mp3" is not one of s16, ulaw, alaw, gsm`},
		{RawFormat{"", 8000, 1}, `encoding "" is not one of`},
		{RawFormat{"s16", 0, 1}, "sample rate 0 Hz"},
		{RawFormat{"ulaw", 1000000, 1}, "sample rate 1000000 Hz"},
		{RawFormat{"alaw", 8000, 0}, "channels 0; want 1 to 8"},
		{RawFormat{"s16", 8000, 9}, "channels 9; want 1 to 8"},
		{RawFormat{"gsm", 8000, 2}, "channels 2; GSM is mono only"},
		{RawFormat{"gsm", 16000, 1}, "sample rate 16000 Hz; GSM is 8000 Hz only"},
	}
	for _, tt := range tests {
		_, err := OpenRaw(bytes.NewReader(make([]byte, 100)), tt.f)
		if code := callscribe.ErrorCode(err); code != callscribe.EINVALID {
			t.Errorf("OpenRaw(%+v): error code %q (%v), want %q", tt.f, code, err, callscribe.EINVALID)
			continue
		}
		if msg := callscribe.ErrorMessage(err); !bytes.Contains([]byte(msg), []byte(tt.want)) {
			t.Errorf("OpenRaw(%+v): message %q, want it to contain %q", tt.f, msg, tt.want)
		}
	}
}
