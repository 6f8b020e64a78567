// Package discipline steers a clock to the reference: a servo on phase and
// frequency, steps at start, leap seconds, holdover and the drift file.
//
// # Model
//
// The state is the phase x = local - true (seconds) at the last pulse and
// the oscillator's own fractional frequency error y (positive: the clock
// gains), before our correction. With a correction c in force over a span L
// of local time, true time advances L/((1+y)(1+c)), so the phase grows by
//
//	Δx = L - L/((1+y)(1+c))  ≈ (y + c) L,   ∂Δx/∂y ≈ L/(1+c).
//
// The servo records every correction it sets (piecewise constant in local
// time), so this is exact even during 2% acquisition slews. The frequency
// is a random walk, y' = y + W·n per second, n ~ N(0,1); a pulse gives
// z = x + v, v of variance R = σ² (BENCHMARKS.md §1). In state-space form,
// over a gap of Δt seconds,
//
//	F = [1 ∂Δx/∂y; 0 1],   Q = W²[Δt³/3 Δt²/2; Δt²/2 Δt],   H = [1 0].
//
// # Update
//
// Each filter predicts x⁻ = x + Δx(y), P⁻ = F P Fᵀ + Q, forms the innovation
// e = z - x⁻ with variance S = P⁻₀₀ + R, and updates with the gain
// K = P⁻Hᵀ/S: x += K₀e, y += K₁e, P = P⁻ - K S Kᵀ. For the benchmark's σ and W
// the steady-state gains are K₀ = 0.044, K₁ = 9.8e-4 /s (S1) up to K₀ = 0.13
// (S2); the posterior phase error is the "limit" of BENCHMARKS.md (0.21,
// 0.36, 2.0, 3.5 µs) and the one-step prediction error 0.214, 0.39, 2.005,
// 3.58 µs.
//
// # Actuator
//
// After each sample, at local time t, the servo picks the correction that
// brings the predicted phase to zero at the next pulse, D seconds of true
// time away: (1+y)(1+c) = 1 - x(t)/D. The phase estimate is thereby folded
// into the next interval's frequency on top of the frequency estimate. The
// clock therefore sits, at each pulse, at the filter's one-step prediction
// error: the smallest any linear estimator can reach for that pulse, since
// it cannot have seen it yet. Only the frequency is actuated (ADJ_FREQUENCY,
// ADJ_TICK beyond ±500 ppm, never the kernel PLL); the clock is stepped only
// at the first lock, when |offset| exceeds Config.StepThreshold. Tick steers
// on the prediction when a pulse is missing, which makes holdover run on the
// frozen frequency estimate.
//
// # Why it is stable
//
// The correction enters the filter as a known input, so by the separation
// principle the estimation error evolves by (I - KH)F alone, whatever the
// controller does; for the observable pair (F, H) with Q > 0 the
// steady-state Kalman gain makes (I - KH)F strictly stable (its eigenvalues
// lie inside the unit circle: 0.978 ± 0.022i, modulus √(1-K₀) = 0.978, in S1). The controller is
// dead-beat on the estimate (it sets the predicted phase to zero each
// period), so the closed loop adds no poles outside the origin. Slews that
// saturate at Config.MaxSlewPPM only delay convergence: the filter integrates
// the correction actually applied.
//
// # How it adapts
//
// σ is learnt from the pulses themselves, independently of the filters: with
// the known corrections removed, the second difference of consecutive phases
// h = v[k+2] - 2v[k+1] + v[k] + W·n has variance 6σ² (W² is negligible), so
// R = E[h²]/6 (exponentially weighted over ~1000 pulses, rejecting |h| > 8
// sd). W cannot be seen at one second; a bank of eleven filters assumes W
// from 1e-11 to 1e-6 and each is weighed by its exponentially forgetting
// likelihood (3000 pulses) of the pulses seen; the clock is steered by the
// weighted mixture, which moves smoothly between filters. Because R comes
// from elsewhere, the likelihood cannot trade measurement noise for wander.
//
// Robustness: a sample whose innovation exceeds Config.OutlierGate predicted
// standard deviations is rejected (the gate widens after a gap, so the return
// from an outage is accepted). Four innovations in a row beyond 3 sd of one
// sign, yet small enough for an oscillator (< 1 ms), mean the frequency
// changed: the filters' covariances are widened so they follow at once (a
// +1 ppm step peaks at ~6 µs). A wrong NMEA second (1 s) is never followed;
// only rejections lasting Config.ReacquireAfter restart the servo, and then
// by slewing once locked. One-sided interrupt latency shows as positive skew:
// the third moment of h is -6 m₃(v); when the skewness exceeds 0.5 the noise
// is taken as an exponentially modified Gaussian, whose mean lies
// τ = ∛(m₃/2) above its floor, and τ is removed from the samples, so the
// clock follows the latency floor rather than the mean latency.
//
// # Published state
//
// Loop publishes a SyncState through an atomic pointer after each call:
// stratum 1 and the sample's RefID while locked (and in holdover up to
// Config.UnsyncAfter), root dispersion from the prediction's error bound
// growing at 15 µs/s (RFC 5905 PHI), the leap indicator on the day a leap
// second ends (internal/leap). The kernel gets STA_UNSYNC cleared and its
// maxerror/esterror refreshed every second while locked, and STA_INS/STA_DEL
// during that day only.
package discipline
