package audio

import (
	"encoding/binary"
	"math"
)

// WAVHeaderSize is the length of the header WAVHeader writes.
const WAVHeaderSize = 44

// WAVHeader is the 44-byte header of a 16-bit PCM WAV of the given rate and channel count
// holding dataBytes of interleaved samples. A dataBytes below zero, or too large for
// RIFF's 32-bit sizes, writes the streaming sizes 0xFFFFFFFF ("to the end of the stream"),
// which this package's decoder and every PBX-facing reader accept.
func WAVHeader(rate, channels int, dataBytes int64) []byte {
	riff, data := uint32(math.MaxUint32), uint32(math.MaxUint32)
	if dataBytes >= 0 && dataBytes <= math.MaxUint32-(WAVHeaderSize-8) {
		riff, data = uint32(dataBytes+WAVHeaderSize-8), uint32(dataBytes)
	}
	h := make([]byte, 0, WAVHeaderSize)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, riff)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16) // fmt chunk size
	h = binary.LittleEndian.AppendUint16(h, 1)  // PCM
	h = binary.LittleEndian.AppendUint16(h, uint16(channels))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate*channels*2)) // byte rate
	h = binary.LittleEndian.AppendUint16(h, uint16(channels*2))      // block align
	h = binary.LittleEndian.AppendUint16(h, 16)                      // bits per sample
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, data)
	return h
}
