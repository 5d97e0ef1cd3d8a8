//go:build !(unix && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64 || mips64 || mips64le))

package engine

import "context"

// withGuestMemory keeps wazero's default allocator where anonymous
// mappings of a 4 GiB reservation are not available.
func withGuestMemory(ctx context.Context) context.Context { return ctx }
