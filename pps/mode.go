package pps

// RFC 2783 mode bits from linux/pps.h; golang.org/x/sys/unix has the ioctl
// numbers and structs but not these.
const (
	modeCaptureAssert = 0x01   // PPS_CAPTUREASSERT
	modeCaptureClear  = 0x02   // PPS_CAPTURECLEAR
	modeOffsetAssert  = 0x10   // PPS_OFFSETASSERT
	modeOffsetClear   = 0x20   // PPS_OFFSETCLEAR
	modeCanWait       = 0x100  // PPS_CANWAIT: PPS_FETCH can block for an event
	modeCanPoll       = 0x200  // PPS_CANPOLL
	modeTSFmtTSpec    = 0x1000 // PPS_TSFMT_TSPEC: timestamps as struct timespec
	modeTSFmtNTPFP    = 0x2000 // PPS_TSFMT_NTPFP

	ppsAPIVers1    = 1 // PPS_API_VERS_1
	ppsTimeInvalid = 1 // PPS_TIME_INVALID in pps_ktime.flags: "no timeout"
)
