//go:build linux && (arm || 386 || mips || mipsle)

package discipline

import "math"

// timexLong converts to the kernel's long, 32 bits wide here (unix.Timex's
// Offset, Freq, Maxerror, Esterror, Tick and Timeval fields are int32),
// saturating instead of wrapping.
func timexLong(v int64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// timexLongWidth is the width of a kernel long, in bits.
const timexLongWidth = 32
