package discsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Thermal is a model of a Pi's crystal following its SoC's temperature
// (issue 9): the load alternates between idle and a random level for random
// spans; the SoC temperature follows the load through a first-order lag;
// the crystal's temperature follows the SoC's through a second, shorter
// lag; the crystal's frequency error is a quadratic in its temperature plus
// a first-order (Ornstein-Uhlenbeck) noise, on top of the scenario's random
// walk; the sensor reads the SoC temperature with Gaussian noise and
// quantisation. Its random numbers come from their own generator, so the
// other scenarios' draws stay as they were.
type Thermal struct {
	// AmbientC is the idle SoC temperature; LoadC the further rise at
	// full load (°C).
	AmbientC, LoadC float64
	// TauS is the SoC's thermal time constant (seconds).
	TauS float64
	// CrystalLagS is the crystal's time constant behind the SoC (seconds;
	// 0: the crystal is at the SoC's temperature).
	CrystalLagS float64
	// PhaseMinS..PhaseMaxS is the uniform length of each load phase
	// (seconds); phases alternate idle and loaded (a uniform 0.3-1 load).
	PhaseMinS, PhaseMaxS float64
	// RefC, LinPPB and QuadPPB are the crystal's frequency error against
	// its temperature T: LinPPB*(T-RefC) + QuadPPB*(T-RefC)^2 (ppb, on top
	// of the scenario's FreqPPM).
	RefC, LinPPB, QuadPPB float64
	// FreqNoisePPB is the 1-sigma of the first-order frequency noise with
	// time constant FreqNoiseTauS (what the quadratic does not explain).
	FreqNoisePPB, FreqNoiseTauS float64
	// SensorSigmaC is the sensor's 1-sigma noise and SensorStepC its
	// quantisation step (°C).
	SensorSigmaC, SensorStepC float64
	// NoModel runs the scenario without feeding the temperatures to the
	// discipline (the baseline the learned model is measured against).
	NoModel bool
}

// thermalState is one run of a Thermal model.
type thermalState struct {
	m          Thermal
	rng        *rand.Rand
	soc, xtal  float64 // °C
	load       float64 // 0..1
	phaseEnd   float64 // second the load phase ends
	loaded     bool
	noise      float64 // ppb
	appliedPPB float64 // thermal frequency shift applied to the oscillator
}

func newThermal(m Thermal, seed uint64) *thermalState {
	t := &thermalState{m: m, rng: rand.New(rand.NewPCG(seed, 0x7468726d)), soc: m.AmbientC, xtal: m.AmbientC}
	t.phaseEnd = t.phaseLen()
	t.appliedPPB = t.freqPPB()
	return t
}

func (t *thermalState) phaseLen() float64 {
	return t.m.PhaseMinS + t.rng.Float64()*(t.m.PhaseMaxS-t.m.PhaseMinS)
}

// freqPPB is the crystal's thermal frequency error now (ppb, noise included).
func (t *thermalState) freqPPB() float64 {
	d := t.xtal - t.m.RefC
	return t.m.LinPPB*d + t.m.QuadPPB*d*d + t.noise
}

// step advances the model to second k (one second on) and returns the
// change of the oscillator's frequency error (ppb) and the sensor reading.
// It draws the same random numbers every second.
func (t *thermalState) step(k int) (shiftPPB, readC float64) {
	u, g1, g2 := t.rng.Float64(), t.rng.NormFloat64(), t.rng.NormFloat64()
	if float64(k) >= t.phaseEnd {
		t.loaded = !t.loaded
		t.load = 0
		if t.loaded {
			t.load = 0.3 + 0.7*u
		}
		t.phaseEnd = float64(k) + t.phaseLen()
	}
	target := t.m.AmbientC + t.load*t.m.LoadC
	t.soc += (target - t.soc) * (1 - math.Exp(-1/t.m.TauS))
	if t.m.CrystalLagS > 0 {
		t.xtal += (t.soc - t.xtal) * (1 - math.Exp(-1/t.m.CrystalLagS))
	} else {
		t.xtal = t.soc
	}
	if t.m.FreqNoiseTauS > 0 {
		a := math.Exp(-1 / t.m.FreqNoiseTauS)
		t.noise = a*t.noise + t.m.FreqNoisePPB*math.Sqrt(1-a*a)*g1
	}
	f := t.freqPPB()
	shiftPPB, t.appliedPPB = f-t.appliedPPB, f
	readC = t.soc + t.m.SensorSigmaC*g2
	if t.m.SensorStepC > 0 {
		readC = math.Round(readC/t.m.SensorStepC) * t.m.SensorStepC
	}
	return shiftPPB, readC
}

// thermalSeeds are the seeds of the thermal scenarios.
var thermalSeeds = []uint64{1, 2, 3, 4, 5}

// thermalFamilies are the temperature scenarios (issue 9 item 4): several
// hours of locked operation through load cycles, then a 1 h outage at 6 h
// while the load goes on changing; their figure is the holdover drift with
// and without the learned temperature model.
func thermalFamilies() []Scenario {
	var out []Scenario
	s := base("T1", "load cycles 45-65 °C (τ 5 min, phases 10-40 min), -120 ppb/°C + 1.5 ppb/°C² at 50 °C, 3 ppb noise, sensor 0.2 °C noise in 1 m°C steps; 1 h outage at 6 h", time.Microsecond, 1e-9)
	s.Hours, s.OutageFrom, s.OutageTo = 7.25, 21600, 25200
	s.Thermal = &Thermal{AmbientC: 45, LoadC: 20, TauS: 300, PhaseMinS: 600, PhaseMaxS: 2400,
		RefC: 50, LinPPB: -120, QuadPPB: 1.5, FreqNoisePPB: 3, FreqNoiseTauS: 600,
		SensorSigmaC: 0.2, SensorStepC: 0.001}
	out = append(out, s)
	s = base("T2", "GPIO stamps 20 µs, W 3e-9, load cycles 40-55 °C (τ 4 min, phases 5-30 min), crystal 2 min behind the sensor, +60 ppb/°C - 3 ppb/°C² at 48 °C, 5 ppb noise, sensor 0.1 °C noise in 0.5 °C steps; 1 h outage at 6 h", 20*time.Microsecond, 1e-9)
	s.Hours, s.OutageFrom, s.OutageTo = 7.25, 21600, 25200
	s.Thermal = &Thermal{AmbientC: 40, LoadC: 15, TauS: 240, CrystalLagS: 120, PhaseMinS: 300, PhaseMaxS: 1800,
		RefC: 48, LinPPB: 60, QuadPPB: -3, FreqNoisePPB: 5, FreqNoiseTauS: 600,
		SensorSigmaC: 0.1, SensorStepC: 0.5}
	out = append(out, s)
	for i := range out {
		out[i].Seeds = thermalSeeds
	}
	return out
}

// truthCurve is the simulated quadratic coefficient of a thermal scenario.
func truthCurve(name string) float64 {
	if s, ok := Scenarios()[name]; ok && s.Thermal != nil {
		return s.Thermal.QuadPPB
	}
	return 0
}
