package snapshot

import (
	"fmt"
	"math"
	"time"
)

// Wasm value type bytes, as in the binary format.
const (
	TypeI32       byte = 0x7f
	TypeI64       byte = 0x7e
	TypeF32       byte = 0x7d
	TypeF64       byte = 0x7c
	TypeV128      byte = 0x7b
	TypeFuncRef   byte = 0x70
	TypeExternRef byte = 0x6f
)

// PageSize is the size of a Wasm memory page.
const PageSize = 65536

// MaxMemoryPages is the largest memory a 32-bit Wasm module can have (4 GiB).
const MaxMemoryPages = 65536

// Value is one Wasm value. Type is a value type byte; the bits live in Lo,
// and a v128 keeps its upper half in Hi (Hi is zero for every other type).
type Value struct {
	Type   byte
	Lo, Hi uint64
}

// Frame is one guest call frame: the function, the safe point it paused at,
// and its locals followed by the operand-stack values spilled there.
type Frame struct {
	Func   uint32
	Site   uint32
	Values []Value
}

// Table is the state of one table. Funcs nil means "unchanged since
// instantiation"; otherwise it holds a function index per slot (-1 for null)
// and len(Funcs) == Size.
type Table struct {
	Index uint32
	Size  uint32
	Funcs []int64
}

// Snapshot is a paused instance. Empty slices and maps decode as nil.
type Snapshot struct {
	ModuleDigest     [32]byte  // sha256 of the original module bytes
	ModuleName       string    // as the user gave it (informational)
	TransformVersion uint32    // version of the transform that instrumented the module
	TakenAt          time.Time // stored as unix nanoseconds, decoded in UTC
	Engine           string    // "compiler", "interpreter", ... (informational)
	Stage            uint32    // entry of the run plan that was executing (0 start function, 1 _start, ...)
	Entry            string    // export that was executing
	Args             []Value   // arguments the entry export was called with
	MemoryPages      uint32    // size of memory 0 in pages (0 and Memory nil without a memory)
	Memory           []byte    // len(Memory) == MemoryPages*PageSize
	Globals          []Value   // every global of the module, in index order
	Tables           []Table
	DroppedData      []uint32 // data segments dropped with data.drop
	DroppedElem      []uint32 // element segments dropped with elem.drop
	Frames           []Frame  // outermost first
	WASI             []byte   // opaque, versioned by the wasi package
	FuncNames        map[uint32]string
}

// Header is the part of a snapshot that ReadHeader returns without reading
// memory, frames or anything after them.
type Header struct {
	Version          uint32
	ModuleDigest     [32]byte
	ModuleName       string
	TransformVersion uint32
	TakenAt          time.Time
	Engine           string
	Stage            uint32
	Entry            string
	Args             []Value
	MemoryPages      uint32
	NumGlobals       int
	NumTables        int
	NumFrames        int
}

// noTime stands for the zero time.Time, which has no unix-nanosecond form.
const noTime = math.MinInt64

func encodeTime(t time.Time) (int64, error) {
	if t.IsZero() {
		return noTime, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) || n == noTime {
		return 0, fmt.Errorf("taken-at %v is out of range: %w", t, ErrInvalid)
	}
	return n, nil
}

func decodeTime(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func validType(t byte) bool {
	switch t {
	case TypeI32, TypeI64, TypeF32, TypeF64, TypeV128, TypeFuncRef, TypeExternRef:
		return true
	}
	return false
}

func checkValue(v Value) error {
	if !validType(v.Type) {
		return fmt.Errorf("value type 0x%02x: %w", v.Type, ErrInvalid)
	}
	if v.Type != TypeV128 && v.Hi != 0 {
		return fmt.Errorf("value of type 0x%02x has upper bits: %w", v.Type, ErrInvalid)
	}
	return nil
}

func checkTable(t Table) error {
	if t.Funcs != nil && len(t.Funcs) != int(t.Size) {
		return fmt.Errorf("table %d: %d entries for size %d: %w", t.Index, len(t.Funcs), t.Size, ErrInvalid)
	}
	for _, f := range t.Funcs {
		if f < -1 || f > math.MaxUint32 {
			return fmt.Errorf("table %d: function index %d: %w", t.Index, f, ErrInvalid)
		}
	}
	return nil
}

func checkMemory(s *Snapshot) error {
	if s.MemoryPages > MaxMemoryPages {
		return fmt.Errorf("%d memory pages: %w", s.MemoryPages, ErrInvalid)
	}
	if uint64(len(s.Memory)) != uint64(s.MemoryPages)*PageSize {
		return fmt.Errorf("memory is %d bytes for %d pages: %w", len(s.Memory), s.MemoryPages, ErrInvalid)
	}
	return nil
}
