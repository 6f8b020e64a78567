//go:build linux

package pps

import (
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// structLayout is a struct's size and its fields' byte offsets.
type structLayout struct {
	size    uintptr
	offsets map[string]uintptr
}

// archLayouts holds what the Linux UAPI headers (linux/pps.h, linux/gpio.h)
// say the ioctl structs look like on each architecture we build for; the
// values were worked out from the C rules, and agree with x/sys v0.50.0's
// ztypes_linux_$GOARCH.go. struct pps_ktime has an __s64, so pps_kinfo is
// padded to 48 bytes where __s64 is 8-aligned (amd64, arm64, and the arm
// EABI) and is 44 bytes on i386. The PPS ioctl numbers encode sizeof a
// pointer (the kernel declares them with "struct pps_fdata *"), so they
// differ between 32- and 64-bit. The GPIO v2 structs have explicit padding
// and the same layout everywhere.
var archLayouts = map[string]struct {
	pps   map[string]structLayout
	ioctl map[string]uint
}{
	"amd64": {pps: pps64, ioctl: ioctl64},
	"arm64": {pps: pps64, ioctl: ioctl64},
	"arm":   {pps: pps64, ioctl: ioctl32}, // EABI: 8-aligned __s64
	"386":   {pps: pps386, ioctl: ioctl32},
}

var (
	ppsKTime  = structLayout{16, map[string]uintptr{"Sec": 0, "Nsec": 8, "Flags": 12}}
	ppsParams = structLayout{40, map[string]uintptr{"Api_version": 0, "Mode": 4, "Assert_off_tu": 8, "Clear_off_tu": 24}}
	ppsInfo   = map[string]uintptr{"Assert_sequence": 0, "Clear_sequence": 4, "Assert_tu": 8, "Clear_tu": 24, "Current_mode": 40}

	pps64 = map[string]structLayout{
		"PPSKTime":   ppsKTime,
		"PPSKParams": ppsParams,
		"PPSKInfo":   {48, ppsInfo},
		"PPSFData":   {64, map[string]uintptr{"Info": 0, "Timeout": 48}},
	}
	pps386 = map[string]structLayout{
		"PPSKTime":   ppsKTime,
		"PPSKParams": ppsParams,
		"PPSKInfo":   {44, ppsInfo},
		"PPSFData":   {60, map[string]uintptr{"Info": 0, "Timeout": 44}},
	}
	// _IOC(dir, 'p'=0x70, nr, sizeof(void *)).
	ioctl64 = map[string]uint{"PPS_GETPARAMS": 0x800870a1, "PPS_SETPARAMS": 0x400870a2, "PPS_GETCAP": 0x800870a3, "PPS_FETCH": 0xc00870a4}
	ioctl32 = map[string]uint{"PPS_GETPARAMS": 0x800470a1, "PPS_SETPARAMS": 0x400470a2, "PPS_GETCAP": 0x800470a3, "PPS_FETCH": 0xc00470a4}

	gpioLayouts = map[string]structLayout{
		"GPIOV2LineAttribute":       {16, map[string]uintptr{"Id": 0, "Flags": 8}},
		"GPIOV2LineConfigAttribute": {24, map[string]uintptr{"Attr": 0, "Mask": 16}},
		"GPIOV2LineConfig":          {272, map[string]uintptr{"Flags": 0, "Num_attrs": 8, "Attrs": 32}},
		"GPIOV2LineRequest": {592, map[string]uintptr{
			"Offsets": 0, "Consumer": 256, "Config": 288, "Num_lines": 560, "Event_buffer_size": 564, "Fd": 588}},
		"GPIOV2LineEvent": {48, map[string]uintptr{
			"Timestamp_ns": 0, "Id": 8, "Offset": 12, "Seqno": 16, "Line_seqno": 20}},
		"GPIOChipInfo": {68, map[string]uintptr{"Name": 0, "Label": 32, "Lines": 64}},
	}
	// _IOWR(0xB4, 0x07, struct gpio_v2_line_request) and
	// _IOR(0xB4, 0x01, struct gpiochip_info): sizes, not pointers.
	gpioIoctls = map[string]uint{"GPIO_V2_GET_LINE_IOCTL": 0xc250b407, "GPIO_GET_CHIPINFO_IOCTL": 0x8044b401}
)

// actualLayouts measures the x/sys structs as compiled for this GOARCH.
func actualLayouts() map[string]structLayout {
	var kt unix.PPSKTime
	var kp unix.PPSKParams
	var ki unix.PPSKInfo
	var fd unix.PPSFData
	var la unix.GPIOV2LineAttribute
	var ca unix.GPIOV2LineConfigAttribute
	var lc unix.GPIOV2LineConfig
	var lr unix.GPIOV2LineRequest
	var le unix.GPIOV2LineEvent
	var ci unix.GPIOChipInfo
	return map[string]structLayout{
		"PPSKTime": {unsafe.Sizeof(kt), map[string]uintptr{
			"Sec": unsafe.Offsetof(kt.Sec), "Nsec": unsafe.Offsetof(kt.Nsec), "Flags": unsafe.Offsetof(kt.Flags)}},
		"PPSKParams": {unsafe.Sizeof(kp), map[string]uintptr{
			"Api_version": unsafe.Offsetof(kp.Api_version), "Mode": unsafe.Offsetof(kp.Mode),
			"Assert_off_tu": unsafe.Offsetof(kp.Assert_off_tu), "Clear_off_tu": unsafe.Offsetof(kp.Clear_off_tu)}},
		"PPSKInfo": {unsafe.Sizeof(ki), map[string]uintptr{
			"Assert_sequence": unsafe.Offsetof(ki.Assert_sequence), "Clear_sequence": unsafe.Offsetof(ki.Clear_sequence),
			"Assert_tu": unsafe.Offsetof(ki.Assert_tu), "Clear_tu": unsafe.Offsetof(ki.Clear_tu),
			"Current_mode": unsafe.Offsetof(ki.Current_mode)}},
		"PPSFData": {unsafe.Sizeof(fd), map[string]uintptr{
			"Info": unsafe.Offsetof(fd.Info), "Timeout": unsafe.Offsetof(fd.Timeout)}},
		"GPIOV2LineAttribute": {unsafe.Sizeof(la), map[string]uintptr{
			"Id": unsafe.Offsetof(la.Id), "Flags": unsafe.Offsetof(la.Flags)}},
		"GPIOV2LineConfigAttribute": {unsafe.Sizeof(ca), map[string]uintptr{
			"Attr": unsafe.Offsetof(ca.Attr), "Mask": unsafe.Offsetof(ca.Mask)}},
		"GPIOV2LineConfig": {unsafe.Sizeof(lc), map[string]uintptr{
			"Flags": unsafe.Offsetof(lc.Flags), "Num_attrs": unsafe.Offsetof(lc.Num_attrs), "Attrs": unsafe.Offsetof(lc.Attrs)}},
		"GPIOV2LineRequest": {unsafe.Sizeof(lr), map[string]uintptr{
			"Offsets": unsafe.Offsetof(lr.Offsets), "Consumer": unsafe.Offsetof(lr.Consumer),
			"Config": unsafe.Offsetof(lr.Config), "Num_lines": unsafe.Offsetof(lr.Num_lines),
			"Event_buffer_size": unsafe.Offsetof(lr.Event_buffer_size), "Fd": unsafe.Offsetof(lr.Fd)}},
		"GPIOV2LineEvent": {unsafe.Sizeof(le), map[string]uintptr{
			"Timestamp_ns": unsafe.Offsetof(le.Timestamp_ns), "Id": unsafe.Offsetof(le.Id),
			"Offset": unsafe.Offsetof(le.Offset), "Seqno": unsafe.Offsetof(le.Seqno),
			"Line_seqno": unsafe.Offsetof(le.Line_seqno)}},
		"GPIOChipInfo": {unsafe.Sizeof(ci), map[string]uintptr{
			"Name": unsafe.Offsetof(ci.Name), "Label": unsafe.Offsetof(ci.Label), "Lines": unsafe.Offsetof(ci.Lines)}},
	}
}

func checkLayouts(t *testing.T, want map[string]structLayout, got map[string]structLayout) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: not measured", name)
			continue
		}
		if g.size != w.size {
			t.Errorf("%s on %s: size %d, kernel ABI %d", name, runtime.GOARCH, g.size, w.size)
		}
		for field, off := range w.offsets {
			if g.offsets[field] != off {
				t.Errorf("%s.%s on %s: offset %d, kernel ABI %d", name, field, runtime.GOARCH, g.offsets[field], off)
			}
		}
		if len(g.offsets) != len(w.offsets) {
			t.Errorf("%s: measured fields %v, table has %v", name, g.offsets, w.offsets)
		}
	}
}

// TestLayoutPPS checks the RFC 2783 ioctl structs and numbers for the
// running GOARCH. TestLayoutUnderQEMU runs it for arm, arm64 and 386.
func TestLayoutPPS(t *testing.T) {
	arch, ok := archLayouts[runtime.GOARCH]
	if !ok {
		t.Fatalf("no kernel ABI table for GOARCH=%s: add one from linux/pps.h before shipping there", runtime.GOARCH)
	}
	t.Logf("GOARCH=%s", runtime.GOARCH)
	checkLayouts(t, arch.pps, actualLayouts())
	got := map[string]uint{
		"PPS_GETPARAMS": unix.PPS_GETPARAMS, "PPS_SETPARAMS": unix.PPS_SETPARAMS,
		"PPS_GETCAP": unix.PPS_GETCAP, "PPS_FETCH": unix.PPS_FETCH,
	}
	for name, w := range arch.ioctl {
		if got[name] != w {
			t.Errorf("%s on %s = %#x, want %#x", name, runtime.GOARCH, got[name], w)
		}
	}
	// The mode bits we define ourselves, against linux/pps.h.
	bits := map[string][2]int{
		"CAPTUREASSERT": {modeCaptureAssert, 0x01}, "CAPTURECLEAR": {modeCaptureClear, 0x02},
		"OFFSETASSERT": {modeOffsetAssert, 0x10}, "OFFSETCLEAR": {modeOffsetClear, 0x20},
		"CANWAIT": {modeCanWait, 0x100}, "CANPOLL": {modeCanPoll, 0x200},
		"TSFMT_TSPEC": {modeTSFmtTSpec, 0x1000}, "TSFMT_NTPFP": {modeTSFmtNTPFP, 0x2000},
		"API_VERS_1": {ppsAPIVers1, 1}, "TIME_INVALID": {ppsTimeInvalid, 1},
	}
	for name, v := range bits {
		if v[0] != v[1] {
			t.Errorf("PPS_%s = %#x, want %#x", name, v[0], v[1])
		}
	}
}

// TestLayoutGPIO checks the GPIO character device v2 structs and ioctl
// numbers for the running GOARCH.
func TestLayoutGPIO(t *testing.T) {
	if _, ok := archLayouts[runtime.GOARCH]; !ok {
		t.Fatalf("no kernel ABI table for GOARCH=%s", runtime.GOARCH)
	}
	checkLayouts(t, gpioLayouts, actualLayouts())
	got := map[string]uint{"GPIO_V2_GET_LINE_IOCTL": unix.GPIO_V2_GET_LINE_IOCTL, "GPIO_GET_CHIPINFO_IOCTL": unix.GPIO_GET_CHIPINFO_IOCTL}
	for name, w := range gpioIoctls {
		if got[name] != w {
			t.Errorf("%s = %#x, want %#x", name, got[name], w)
		}
	}
	if lineEventSize != 48 || unsafe.Sizeof(unix.GPIOV2LineEvent{}) != lineEventSize {
		t.Errorf("lineEventSize %d, unix.GPIOV2LineEvent %d, want 48", lineEventSize, unsafe.Sizeof(unix.GPIOV2LineEvent{}))
	}
}
