package snapshot

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Memory sections: chunk index u32 · kind u8 · data. A raw chunk carries
// chunkSize bytes; a zstd chunk carries one zstd frame, shorter than the raw
// chunk, that decompresses to exactly chunkSize bytes. Chunks appear in
// strictly ascending order and all-zero chunks are left out. In a delta, a
// zero chunk (no data) clears a chunk the receiver holds.
const (
	chunkSize     = PageSize
	chunkHeadSize = 4 + 1
	chunkRaw      = 0
	chunkZstd     = 1
	chunkZero     = 2
)

var zeroChunk [chunkSize]byte

// zstd coders are costly to build and hold no state between EncodeAll or
// DecodeAll calls, so they are pooled across snapshots. With concurrency 1
// and no reader they start no goroutines.
var encoders, decoders sync.Pool

func getEncoder() (*zstd.Encoder, error) {
	if e, ok := encoders.Get().(*zstd.Encoder); ok {
		return e, nil
	}
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // sections have their own checksum
		zstd.WithWindowSize(chunkSize))
}

func getDecoder() (*zstd.Decoder, error) {
	if d, ok := decoders.Get().(*zstd.Decoder); ok {
		return d, nil
	}
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(chunkSize),
		zstd.WithDecoderMaxWindow(chunkSize),
		zstd.WithDecodeAllCapLimit(true))
}

// writeMemory writes one memory section per non-zero chunk of mem.
func writeMemory(out *sink, mem []byte) error {
	return writeChunks(out, len(mem)/chunkSize, func(i int) []byte { return mem[i*chunkSize : (i+1)*chunkSize] }, false)
}

// writeChunks writes the chunks that chunk returns (nil: left out). A full
// snapshot leaves out zero chunks; a delta sends them as zero chunks.
func writeChunks(out *sink, n int, chunk func(i int) []byte, delta bool) error {
	if n == 0 {
		return nil
	}
	enc, err := getEncoder()
	if err != nil {
		return err
	}
	defer encoders.Put(enc)
	dst := make([]byte, 0, 2*chunkSize)
	var head [chunkHeadSize]byte
	for i := 0; i < n; i++ {
		c := chunk(i)
		if c == nil {
			continue
		}
		if len(c) != chunkSize {
			return fmt.Errorf("chunk %d is %d bytes: %w", i, len(c), ErrInvalid)
		}
		le.PutUint32(head[:], uint32(i))
		var data []byte
		switch {
		case !bytes.Equal(c, zeroChunk[:]):
			data = enc.EncodeAll(c, dst[:0])
			head[4] = chunkZstd
			if len(data) >= len(c) {
				head[4], data = chunkRaw, c
			}
		case !delta:
			continue
		default:
			head[4] = chunkZero
		}
		if err := out.section(secMemory, head[:], data); err != nil {
			return err
		}
	}
	return nil
}

// readMemory reads memory sections into mem (zeroed, of the size the header
// gave) until the next section is something else, which it leaves open.
func readMemory(src *source, mem []byte) error {
	dec, err := getDecoder()
	if err != nil {
		return err
	}
	defer decoders.Put(dec)
	scratch := make([]byte, chunkSize)
	next := uint64(0) // lowest index the next chunk may have
	for {
		if err := src.open(); err != nil || src.id != secMemory {
			return err
		}
		idx, err := readChunk(src, dec, mem, next, scratch)
		if err != nil {
			return err
		}
		next = idx + 1
	}
}

func readChunk(src *source, dec *zstd.Decoder, mem []byte, next uint64, scratch []byte) (uint64, error) {
	if src.n < chunkHeadSize || src.n > chunkHeadSize+chunkSize {
		return 0, src.corrupt("length %d", src.n)
	}
	head := src.tmp[:chunkHeadSize]
	if err := src.read(head); err != nil {
		return 0, err
	}
	idx, n := uint64(le.Uint32(head)), int(src.n-chunkHeadSize)
	if idx < next || idx >= uint64(len(mem)/chunkSize) {
		return 0, src.corrupt("chunk %d out of order or beyond %d pages", idx, len(mem)/PageSize)
	}
	// Capped: the zstd decoder may use the capacity past the chunk as
	// scratch, which would overwrite the chunks after it.
	dst := mem[idx*chunkSize : (idx+1)*chunkSize : (idx+1)*chunkSize]
	switch kind := head[4]; {
	case kind == chunkRaw && n == chunkSize:
		return idx, readRaw(src, dst)
	case kind == chunkZstd && n > 0 && n < chunkSize:
		return idx, readZstd(src, dec, dst, scratch[:n])
	case kind == chunkZero && n == 0 && src.delta:
		clear(dst)
		return idx, src.close()
	default:
		return 0, src.corrupt("chunk %d of kind %d is %d bytes", idx, kind, n)
	}
}

// readRaw reads a raw chunk straight into guest memory: if its checksum then
// fails, the whole decode fails and the memory is never returned.
func readRaw(src *source, dst []byte) error {
	if err := src.read(dst); err != nil {
		return err
	}
	return src.close()
}

func readZstd(src *source, dec *zstd.Decoder, dst, data []byte) error {
	if err := src.read(data); err != nil {
		return err
	}
	if err := src.close(); err != nil {
		return err
	}
	out, err := dec.DecodeAll(data, dst[:0])
	if err != nil {
		return src.corrupt("decompress: %v", err)
	}
	if len(out) != len(dst) || &out[0] != &dst[0] {
		return src.corrupt("chunk decompresses to %d bytes", len(out))
	}
	return nil
}
