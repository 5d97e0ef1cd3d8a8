#!/usr/bin/env bash
# Rebuilds the guest test programs in testdata/{c,rust,go} into
# testdata/wasm/<lang>-<name>.wasm (file names keep the program name, which
# already starts with its language: c-fib.c -> wasm/c-fib.wasm).
#
# Usage: testdata/build.sh [NAME...]    (no NAME: build everything)
#   NAME is a program name such as c-fib, rust-bench or go-goroutines.
#
# Toolchains (Debian packages): clang lld wasi-libc libclang-rt-14-dev-wasm32
# for C; rustc libstd-rust-dev-wasm32 for Rust (Debian's /usr/bin/rustc, not a
# rustup one without the wasm32-wasi target); Go >= 1.21 for GOOS=wasip1.
# Overrides: CLANG, RUSTC, GO, WASI_SYSROOT (empty: clang's default, which on
# Debian finds /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi).
#
# Outputs are reproducible: running the script again produces identical
# files. wasm-opt is never run (clang would run it implicitly when optimising
# at link time if it is on PATH, so C is compiled and linked in two steps).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/wasm"

CLANG="${CLANG:-clang}"
RUSTC="${RUSTC:-/usr/bin/rustc}"
GO="${GO:-go}"
WASI_SYSROOT="${WASI_SYSROOT:-}"

# Extra link flags per program (stack size for the deep-recursion programs).
c_link_flags() {
	case "$1" in
	c-recursion) echo "-Wl,-z,stack-size=8388608" ;;
	*) echo "" ;;
	esac
}
rust_flags() {
	case "$1" in
	rust-recursion) echo "-C link-arg=-zstack-size=16777216" ;;
	*) echo "" ;;
	esac
}

die() {
	echo "build.sh: $*" >&2
	exit 1
}

want() { # want NAME: true if NAME was asked for (or nothing was)
	[ "${#selected[@]}" -eq 0 ] && return 0
	local s
	for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
	return 1
}

check_c() {
	command -v "$CLANG" >/dev/null 2>&1 || die "C: '$CLANG' not found (apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32)"
	local tmp
	tmp="$(mktemp -d)"
	printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' >"$tmp/t.c"
	if ! "$CLANG" --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot="$WASI_SYSROOT"} -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		rm -rf "$tmp"
		die "C: clang cannot compile for wasm32-wasi (missing wasi-libc headers? apt-get install -y wasi-libc, or set WASI_SYSROOT)"
	fi
	if ! "$CLANG" --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot="$WASI_SYSROOT"} "$tmp/t.o" -o "$tmp/t.wasm" 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		rm -rf "$tmp"
		die "C: cannot link for wasm32-wasi (apt-get install -y lld wasi-libc libclang-rt-14-dev-wasm32)"
	fi
	rm -rf "$tmp"
}

check_rust() {
	[ -x "$RUSTC" ] || command -v "$RUSTC" >/dev/null 2>&1 || die "Rust: '$RUSTC' not found (apt-get install -y rustc libstd-rust-dev-wasm32)"
	local sysroot
	sysroot="$("$RUSTC" --print sysroot)" || die "Rust: '$RUSTC --print sysroot' failed"
	[ -d "$sysroot/lib/rustlib/wasm32-wasi/lib" ] ||
		die "Rust: no wasm32-wasi std under $sysroot/lib/rustlib (apt-get install -y libstd-rust-dev-wasm32; use Debian's /usr/bin/rustc via RUSTC=)"
}

check_go() {
	command -v "$GO" >/dev/null 2>&1 || die "Go: '$GO' not found"
	GOOS=wasip1 GOARCH=wasm "$GO" tool dist list 2>/dev/null | grep -x 'wasip1/wasm' >/dev/null ||
		die "Go: this Go does not support GOOS=wasip1 (need Go >= 1.21)"
}

build_c() { # build_c NAME
	local name="$1" tmp
	echo "build C    $name -> testdata/wasm/$name.wasm"
	tmp="$(mktemp -d)"
	# Compile from inside testdata/c with a relative path so nothing host
	# specific ends up in the object.
	(cd "$here/c" && "$CLANG" --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot="$WASI_SYSROOT"} \
		-O2 -Wall -Wextra -c "$name.c" -o "$tmp/$name.o")
	# Link without -O (no implicit wasm-opt); keep the name section for
	# stack traces, drop wasi-libc's DWARF.
	# shellcheck disable=SC2046
	"$CLANG" --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot="$WASI_SYSROOT"} \
		-Wl,--strip-debug $(c_link_flags "$name") "$tmp/$name.o" -o "$tmp/$name.wasm"
	chmod 0644 "$tmp/$name.wasm"
	mv "$tmp/$name.wasm" "$out/$name.wasm"
	rm -rf "$tmp"
}

build_rust() { # build_rust NAME
	local name="$1" tmp
	echo "build Rust $name -> testdata/wasm/$name.wasm"
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2046
	(cd "$here/rust" && "$RUSTC" --target wasm32-wasi -C opt-level=2 -C strip=debuginfo --edition 2021 \
		--remap-path-prefix="$here/rust=." $(rust_flags "$name") "$name.rs" -o "$tmp/$name.wasm")
	chmod 0644 "$tmp/$name.wasm"
	mv "$tmp/$name.wasm" "$out/$name.wasm"
	rm -rf "$tmp"
}

build_go() { # build_go NAME
	local name="$1" tmp
	echo "build Go   $name -> testdata/wasm/$name.wasm"
	tmp="$(mktemp -d)"
	(cd "$root" && CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm "$GO" build -trimpath -buildvcs=false -ldflags=-s \
		-o "$tmp/$name.wasm" "./testdata/go/$name")
	chmod 0644 "$tmp/$name.wasm"
	mv "$tmp/$name.wasm" "$out/$name.wasm"
	rm -rf "$tmp"
}

selected=("$@")
mkdir -p "$out"

c_progs=()
rust_progs=()
go_progs=()
for f in "$here"/c/*.c; do
	n="$(basename "$f" .c)"
	want "$n" && c_progs+=("$n")
done
for f in "$here"/rust/*.rs; do
	n="$(basename "$f" .rs)"
	want "$n" && rust_progs+=("$n")
done
for d in "$here"/go/*/; do
	n="$(basename "$d")"
	want "$n" && go_progs+=("$n")
done

total=$((${#c_progs[@]} + ${#rust_progs[@]} + ${#go_progs[@]}))
if [ "$total" -eq 0 ]; then
	die "nothing to build (unknown program name in: ${selected[*]})"
fi
if [ "${#selected[@]}" -gt 0 ] && [ "$total" -ne "${#selected[@]}" ]; then
	die "some of these are not programs in testdata/{c,rust,go}: ${selected[*]}"
fi

[ "${#c_progs[@]}" -gt 0 ] && check_c
[ "${#rust_progs[@]}" -gt 0 ] && check_rust
[ "${#go_progs[@]}" -gt 0 ] && check_go

for n in "${c_progs[@]}"; do build_c "$n"; done
for n in "${rust_progs[@]}"; do build_rust "$n"; done
for n in "${go_progs[@]}"; do build_go "$n"; done

echo "built $total programs into testdata/wasm"

# roam demo embeds this program.
if want c-demo; then
	cp "$out/c-demo.wasm" "$root/internal/cli/demo.wasm"
	echo "copied c-demo.wasm -> internal/cli/demo.wasm"
fi

# Hand-written WebAssembly text fixtures: testdata/wat/NAME.wat ->
# testdata/wat/NAME.wasm (next to the source, not in testdata/wasm: they are
# not guest programs of the conformance set). Rebuilt on a full build only.
WAT2WASM="${WAT2WASM:-wat2wasm}"
if [ "${#selected[@]}" -eq 0 ]; then
	command -v "$WAT2WASM" >/dev/null 2>&1 || die "wat: '$WAT2WASM' not found (apt-get install -y wabt)"
	for f in "$here"/wat/*.wat; do
		[ -e "$f" ] || continue
		echo "build wat  $(basename "$f" .wat) -> testdata/wat/$(basename "$f" .wat).wasm"
		"$WAT2WASM" --debug-names "$f" -o "${f%.wat}.wasm"
		chmod 0644 "${f%.wat}.wasm"
	done
fi
