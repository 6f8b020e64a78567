package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gnomon-ntp/gnomon/views"
)

// desc is a metric's description; label names as given.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("gnomon_"+name, help, labels, nil)
}

var (
	mOffset    = desc("clock_offset_seconds", "Estimated offset of the served clock, reference minus local (positive: local behind).")
	mFreq      = desc("clock_frequency_ppm", "Frequency correction in force, ppm (positive: the clock is sped up).")
	mResidual  = desc("clock_residual_frequency_ppm", "Slope of the estimated offset over the last ten minutes, ppm.")
	mEstErr    = desc("clock_estimated_error_seconds", "Estimated error of the served time: the system peer's jitter, seconds.")
	mRootDisp  = desc("root_dispersion_seconds", "Root dispersion served in replies, seconds.")
	mRootDelay = desc("root_delay_seconds", "Root delay served in replies, seconds.")
	mStratum   = desc("stratum", "Stratum served (16: unsynchronised).")
	mLeap      = desc("leap_indicator", "Leap indicator served (0 none, 1 insert, 2 delete, 3 alarm).")
	mSynced    = desc("synchronized", "1 while the clock is synchronised to its reference.")
	mLastUpd   = desc("last_update_age_seconds", "Time since the last clock update, seconds.")
	mRefused   = desc("samples_refused_total", "Samples refused by the plausibility gate.")
	mUptime    = desc("uptime_seconds", "Time since gnomon started, seconds.")

	mReach     = desc("source_reach", "Reachability register of the source (0-255).", "source")
	mSrcOffset = desc("source_offset_seconds", "Offset of the source's last sample, reference minus local.", "source")
	mSrcDelay  = desc("source_delay_seconds", "Round trip delay of the source's last sample.", "source")
	mSrcJitter = desc("source_jitter_seconds", "RMS of successive offset differences of the source's recent samples.", "source")
	mSrcState  = desc("source_selected", "1 for the source's selection state, 0 for the others.", "source", "state")
	mSrcSamp   = desc("source_samples_total", "Samples the source gave.", "source")

	mFix      = desc("gps_fix", "GPS fix: 0 none, 2 2D, 3 3D.")
	mValid    = desc("gps_valid", "1 while the receiver reports a valid fix.")
	mSatsUsed = desc("gps_satellites_used", "Satellites used in the fix.")
	mSatsView = desc("gps_satellites_in_view", "Satellites in view (GSV).")
	mHDOP     = desc("gps_hdop", "Horizontal dilution of precision.")
	mPPSLock  = desc("pps_locked", "1 while PPS edges are numbered by NMEA seconds.")
	mPulses   = desc("pps_pulses_total", "PPS edges taken, by fate.", "result")
	mNMEA     = desc("nmea_lines_total", "NMEA lines read, by fate.", "result")
	mReopen   = desc("serial_reconnects_total", "Serial port reopens after the first open.")

	mTempC      = desc("temperature_celsius", "Oscillator temperature sensor's reading, °C (absent while the sensor does not read).")
	mTempErrs   = desc("temperature_read_errors_total", "Failed reads of the temperature sensor.")
	mTempCoef   = desc("temperature_coefficient_ppb_per_celsius", "Learned linear temperature coefficient of the oscillator's frequency error, ppb per °C (positive: gains more as it warms).")
	mTempTrusts = desc("temperature_model_trusted", "1 while the learned temperature model is trusted for holdover.")

	mReceived = desc("ntp_datagrams_received_total", "NTP datagrams read.")
	mServed   = desc("ntp_requests_served_total", "NTP requests answered, by kind.", "kind")
	mDropped  = desc("ntp_requests_dropped_total", "NTP requests not answered, by reason.", "reason")
	mLimited  = desc("ntp_rate_limited_requests_total", "Requests refused by the per-client rate limit (dropped or answered with a RATE kiss).")
	mFault    = desc("fault", "1 while the wiring or health fault is raised.", "fault")
)

// collector turns the Report into metrics at each scrape.
type collector struct{ v *Views }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mOffset, mFreq, mResidual, mEstErr, mRootDisp, mRootDelay, mStratum, mLeap,
		mSynced, mLastUpd, mRefused, mUptime, mReach, mSrcOffset, mSrcDelay, mSrcJitter, mSrcState, mSrcSamp,
		mFix, mValid, mSatsUsed, mSatsView, mHDOP, mPPSLock, mPulses, mNMEA, mReopen,
		mTempC, mTempErrs, mTempCoef, mTempTrusts,
		mReceived, mServed, mDropped, mLimited, mFault} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	r := c.v.Report()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	t := r.Tracking
	gauge(mOffset, t.OffsetS)
	gauge(mFreq, t.FreqPPM)
	gauge(mResidual, t.ResidualFreqPPM)
	gauge(mRootDisp, t.RootDispersionS)
	gauge(mRootDelay, t.RootDelayS)
	gauge(mStratum, float64(t.Stratum))
	gauge(mLeap, float64(t.LeapIndicator))
	gauge(mSynced, b2f(t.Synced))
	gauge(mLastUpd, t.LastUpdateAgoS)
	counter(mRefused, t.Refused)
	gauge(mUptime, r.UptimeS)
	var estErr float64
	for _, s := range r.Sources {
		if s.Tally == "*" {
			estErr = s.JitterS
		}
		gauge(mReach, float64(s.Reach), s.Remote)
		gauge(mSrcOffset, s.OffsetS, s.Remote)
		gauge(mSrcDelay, s.DelayS, s.Remote)
		gauge(mSrcJitter, s.JitterS, s.Remote)
		counter(mSrcSamp, s.Samples, s.Remote)
		for _, st := range views.SelectionStates {
			gauge(mSrcState, b2f(st == s.State), s.Remote, st)
		}
	}
	gauge(mEstErr, estErr)
	if rv := r.Receiver; rv != nil {
		gauge(mFix, float64(rv.Fix))
		gauge(mValid, b2f(rv.Valid))
		gauge(mSatsUsed, float64(rv.SatsUsed))
		gauge(mSatsView, float64(rv.SatsInView))
		gauge(mHDOP, rv.HDOP)
		gauge(mPPSLock, b2f(rv.Locked))
	}
	if tp := r.Temperature; tp != nil {
		if tp.Valid {
			gauge(mTempC, tp.Celsius)
		}
		counter(mTempErrs, tp.ReadErrors)
		gauge(mTempCoef, tp.CoefficientPPBPerC)
		gauge(mTempTrusts, b2f(tp.Trusted))
	}
	k := r.Counters
	counter(mPulses, k.PulsesNumbered, "numbered")
	counter(mPulses, k.PulsesUnnumbered, "unnumbered")
	counter(mPulses, k.Rejected, "rejected")
	counter(mPulses, k.Pulses, "all")
	counter(mNMEA, k.TimeMessages, "time_message")
	counter(mNMEA, k.ChecksumErrors, "checksum_error")
	counter(mNMEA, k.Noise, "noise")
	counter(mNMEA, k.Malformed, "malformed")
	counter(mNMEA, k.NMEALines, "all")
	counter(mReopen, k.Reconnects)
	counter(mReceived, k.Received)
	counter(mServed, k.Served, "time")
	counter(mServed, k.KoD, "kod")
	counter(mServed, k.Control, "control")
	for reason, n := range k.Dropped {
		counter(mDropped, n, reason)
	}
	counter(mLimited, k.Dropped["rate_limit"]+k.KoD)
	active := map[string]bool{}
	for _, f := range c.v.Faults() {
		active[f.Name()] = true
	}
	for _, f := range views.Faults {
		gauge(mFault, b2f(active[f.Name()]), f.Name())
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Registry returns a registry with the gnomon metrics, the Go runtime's
// and the process's.
func (v *Views) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{v}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
