package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthTemp feeds m a day-like temperature cycle around 45 °C (load
// cycles of amplitude ampC) with frequency a + b*(T-45) + c*(T-45)^2 plus
// Gaussian noise of noisePPB, one sample a minute for hours.
func synthTemp(m *TempModel, rng *rand.Rand, hours, ampC, a, b, c, noisePPB float64) {
	for t := 0.0; t < hours*3600; t += 60 {
		temp := 45 + ampC*math.Sin(2*math.Pi*t/5400) + 0.3*rng.NormFloat64()
		d := temp - 45
		m.Add(t, temp, a+b*d+c*d*d+noisePPB*rng.NormFloat64())
	}
}

func TestTempModelRecoversCoefficients(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		rng := rand.New(rand.NewPCG(seed, 9))
		m := NewTempModel(DefaultTempModelConfig())
		a, b, c := 1500.0, -120.0, 4.0
		synthTemp(m, rng, 8, 6, a, b, c, 5)
		f := m.Fit()
		if !f.Trusted {
			t.Fatalf("seed %d: not trusted: %+v", seed, f)
		}
		// The reference is the first temperature seen: compare the model
		// on the data's range, not raw coefficients.
		for _, temp := range []float64{40, 45, 50} {
			d := temp - 45
			want := a + b*d + c*d*d
			if got := m.Predict(temp); math.Abs(got-want) > 5 {
				t.Errorf("seed %d: predict(%v) = %.2f, want %.2f", seed, temp, got, want)
			}
		}
		// The curvature does not depend on the reference.
		if math.Abs(f.CurvePPBPerC2-c) > 4*f.CurveSigmaPPBPerC2+0.05 {
			t.Errorf("seed %d: curve %.3f ± %.3f, want %v", seed, f.CurvePPBPerC2, f.CurveSigmaPPBPerC2, c)
		}
		// Slope at the reference.
		wantB := b + 2*c*(f.RefC-45)
		if math.Abs(f.SlopePPBPerC-wantB) > 4*f.SlopeSigmaPPBPerC+0.1 {
			t.Errorf("seed %d: slope %.3f ± %.3f, want %.3f", seed, f.SlopePPBPerC, f.SlopeSigmaPPBPerC, wantB)
		}
		if f.ResidualPPB < 3 || f.ResidualPPB > 7 {
			t.Errorf("seed %d: residual %.2f, want about 5", seed, f.ResidualPPB)
		}
		// Sigmas are honest: not zero, not huge.
		if f.SlopeSigmaPPBPerC <= 0 || f.SlopeSigmaPPBPerC > 1 {
			t.Errorf("seed %d: slope sigma %v", seed, f.SlopeSigmaPPBPerC)
		}
	}
}

func TestTempModelUntrustedWithoutSpan(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 10))
		m := NewTempModel(DefaultTempModelConfig())
		// A steady temperature (0.3 °C sensor noise only): no span.
		synthTemp(m, rng, 8, 0, 800, -100, 3, 5)
		if f := m.Fit(); f.Trusted {
			t.Errorf("seed %d: trusted with span %.2f °C: %+v", seed, f.SpanC, f)
		}
	}
}

func TestTempModelUntrustedWithFewSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m := NewTempModel(DefaultTempModelConfig())
	synthTemp(m, rng, 0.5, 6, 0, -100, 3, 5) // 30 samples
	if f := m.Fit(); f.Trusted || f.Samples != 30 {
		t.Errorf("30 samples: %+v", f)
	}
}

func TestTempModelIntervalAndBadInput(t *testing.T) {
	m := NewTempModel(DefaultTempModelConfig())
	if !m.Add(0, 40, 10) {
		t.Fatal("first sample refused")
	}
	if m.Add(30, 41, 10) {
		t.Error("sample within Interval used")
	}
	if m.Add(120, math.NaN(), 10) || m.Add(120, 40, math.Inf(1)) {
		t.Error("NaN/Inf used")
	}
	if !m.Add(120, 41, 10) {
		t.Error("sample after Interval refused")
	}
	if m.Fit().Samples != 2 {
		t.Errorf("samples %d", m.Fit().Samples)
	}
	m.Reset()
	if f := m.Fit(); f.Samples != 0 || f.Trusted || m.Delta(40, 50) != 0 {
		t.Errorf("after reset: %+v", f)
	}
}

// The forgetting follows a coefficient that changes (a new oscillator
// behaviour), and the delta between temperatures does not depend on the
// offset A drifting.
func TestTempModelForgetsAndIgnoresOffsetDrift(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13} {
		rng := rand.New(rand.NewPCG(seed, 3))
		cfg := DefaultTempModelConfig()
		cfg.Memory = 4 * 3600
		m := NewTempModel(cfg)
		drift := 0.0
		for t := 0.0; t < 48*3600; t += 60 {
			b := -50.0
			if t > 24*3600 {
				b = -150
			}
			drift += 0.5 * rng.NormFloat64() // random-walk offset, PPB
			temp := 50 + 5*math.Sin(2*math.Pi*t/7200) + 0.2*rng.NormFloat64()
			m.Add(t, temp, drift+b*(temp-50)+2*rng.NormFloat64())
		}
		if d, want := m.Delta(48, 52), -150.0*4; math.Abs(d-want) > 0.05*math.Abs(want) {
			t.Errorf("seed %d: delta %.1f, want %.1f", seed, d, want)
		}
	}
}

func TestTempModelDeltaClamped(t *testing.T) {
	m := NewTempModel(DefaultTempModelConfig())
	rng := rand.New(rand.NewPCG(1, 1))
	synthTemp(m, rng, 6, 4, 0, 0, 10, 0.5) // seen 41..49 °C roughly
	// Far outside the seen range the quadratic is clamped.
	if a, b := m.Delta(45, 200), m.Delta(45, 60); math.Abs(a-b) > 1e-9 {
		t.Errorf("Delta not clamped: %v vs %v", a, b)
	}
}
