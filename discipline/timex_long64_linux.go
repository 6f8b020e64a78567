//go:build linux && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x || sparc64)

package discipline

// timexLong converts to the kernel's long, 64 bits wide here: unix.Timex's
// Offset, Freq, Maxerror, Esterror, Tick and Timeval fields are int64.
func timexLong(v int64) int64 { return v }

// timexLongWidth is the width of a kernel long, in bits.
const timexLongWidth = 64
