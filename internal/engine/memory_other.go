//go:build !(unix && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64 || mips64 || mips64le))

package engine

import "github.com/tetratelabs/wazero/experimental"

// newLinearMemory keeps linear memories on the Go heap where anonymous
// mappings of a 4 GiB reservation are not available.
func newLinearMemory(capacity, max uint64) experimental.LinearMemory {
	return &heapMemory{}
}
