//! The small-ratio fast path: a polyphase Kaiser-windowed sinc FIR for
//! rate pairs whose reduced ratio has both terms at most 8 (see the
//! parent module's documentation for its figures).

use std::sync::{Arc, Mutex};

use super::gcd;

/// Largest numerator or denominator of a reduced rate ratio that takes the
/// polyphase path.
const FAST_MAX_FACTOR: u32 = 8;

/// Prototype filter length per unit of `max(up, down)`. With the cutoff and
/// window below this gives a passband within +-0.002 dB up to 0.9x the lower
/// Nyquist frequency (0.45x the lower rate) and >= 72 dB stopband from 1.1x
/// that Nyquist frequency on; the band in between is the transition, so
/// aliases (downsampling) or images (upsampling) can only appear between
/// 0.9x and 1x the lower Nyquist frequency, never in the passband.
const FAST_TAPS_PER_FACTOR: usize = 46;

/// Cutoff (-6 dB point) as a fraction of the lower of the two rates.
const FAST_CUTOFF: f64 = 0.5;

/// Kaiser window shape parameter (about 72 dB sidelobes).
const FAST_KAISER_BETA: f64 = 7.0;

/// Polyphase FIR converter for `out_rate / in_rate == up / down` with small
/// `up` and `down`: conceptually the input is zero-stuffed to `up * in_rate`,
/// low-pass filtered by a Kaiser-windowed sinc prototype and decimated by
/// `down`; only the products that matter are computed.
///
/// Group delay: `(taps - 1) / 2` samples at `up * in_rate`, that is
/// `(taps - 1) / (2 * up)` input samples or `(taps - 1) / (2 * down)` output
/// samples: 1.44 ms for 48k->16k and 16k->48k (21.7 output samples at
/// 16 kHz), 0.96 ms for 48k<->24k, 2.9 ms for 48k->8k and 8k<->16k.
pub(super) struct Polyphase {
    pub(super) up: usize,
    pub(super) down: usize,
    /// Taps per output phase, padded to a multiple of `down`.
    taps_per_phase: usize,
    /// Input samples kept between calls (each channel's `pending` holds at
    /// least this many before the newest call's input).
    pub(super) history: usize,
    /// Prototype length, for the delay figure.
    pub(super) taps: usize,
    /// Tap `a * down + p` of phase `f`, oldest input first, at
    /// `(f * down + p) * (taps_per_phase / down) + a`: one contiguous run
    /// per input residue `p`, so each run is a plain FIR over every
    /// `down`-th input sample.
    bank: Vec<f32>,
}

impl std::fmt::Debug for Polyphase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polyphase")
            .field("up", &self.up)
            .field("down", &self.down)
            .field("taps", &self.taps)
            .finish_non_exhaustive()
    }
}

/// Designed banks, keyed by reduced ratio (at most 8 x 8 entries).
static FAST_BANKS: Mutex<Vec<(usize, usize, Arc<Polyphase>)>> = Mutex::new(Vec::new());

impl Polyphase {
    /// The (cached) bank for a rate pair, or `None` when the reduced ratio
    /// is too large for the polyphase path.
    pub(super) fn for_rates(in_rate: u32, out_rate: u32) -> Option<Arc<Self>> {
        let g = gcd(in_rate, out_rate);
        let (up, down) = (out_rate / g, in_rate / g);
        if up > FAST_MAX_FACTOR || down > FAST_MAX_FACTOR || up == down {
            return None;
        }
        let (up, down) = (up as usize, down as usize);
        let mut banks = FAST_BANKS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, bank)) = banks.iter().find(|(u, d, _)| (*u, *d) == (up, down)) {
            return Some(Arc::clone(bank));
        }
        let bank = Arc::new(Self::design(up, down));
        banks.push((up, down, Arc::clone(&bank)));
        Some(bank)
    }

    fn design(up: usize, down: usize) -> Self {
        let factor = up.max(down);
        let taps = (FAST_TAPS_PER_FACTOR * factor) | 1;
        // Cycles per sample at the zero-stuffed rate `up * in_rate`.
        let cutoff = FAST_CUTOFF / factor as f64;
        let centre = (taps - 1) as f64 / 2.0;
        let norm = bessel_i0(FAST_KAISER_BETA);
        let mut prototype: Vec<f64> = (0..taps)
            .map(|j| {
                let t = j as f64 - centre;
                let x = 2.0 * cutoff * t;
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = t / centre;
                let window = bessel_i0(FAST_KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / norm;
                2.0 * cutoff * sinc * window
            })
            .collect();
        // Unity gain at DC after zero stuffing.
        let sum: f64 = prototype.iter().sum();
        for h in &mut prototype {
            *h *= up as f64 / sum;
        }
        let per_phase = taps.div_ceil(up).div_ceil(down) * down;
        let runs = per_phase / down;
        let mut bank = vec![0.0f32; up * per_phase];
        for phase in 0..up {
            for i in 0..per_phase {
                // Newest-first tap `i` of this phase is prototype tap
                // `phase + i * up`; stored oldest first.
                let h = prototype.get(phase + i * up).copied().unwrap_or(0.0);
                let stored = per_phase - 1 - i;
                let (a, p) = (stored / down, stored % down);
                bank[(phase * down + p) * runs + a] = h as f32;
            }
        }
        Self {
            up,
            down,
            taps_per_phase: per_phase,
            history: per_phase + down,
            taps,
            bank,
        }
    }

    /// Converts one channel. `buf` holds `history` old samples followed by
    /// `frames` new ones, `start` is the input count so far modulo `down`;
    /// appends `floor((start + frames) * up / down) - floor(start * up /
    /// down)` samples to `out`.
    pub(super) fn run(
        &self,
        buf: &[f32],
        start: usize,
        frames: usize,
        out: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
        phase_out: &mut Vec<f32>,
    ) {
        let (up, down, per_phase) = (self.up, self.down, self.taps_per_phase);
        let runs = per_phase / down;
        debug_assert_eq!(buf.len(), self.history + frames);
        let k_start = start * up / down;
        let k_end = (start + frames) * up / down;
        let first = out.len();
        out.resize(first + k_end - k_start, 0.0);
        for r in 0..up {
            // Outputs k = q * up + r for q in q0..q1.
            let q0 = (k_start + up - 1 - r) / up;
            let q1 = (k_end + up - 1 - r) / up;
            if q1 <= q0 {
                continue;
            }
            let count = q1 - q0;
            let phase = r * down % up;
            // Oldest input sample of output q0's window.
            let base = self.history + q0 * down + r * down / up + 1 - start - per_phase;
            let taps = &self.bank[phase * per_phase..(phase + 1) * per_phase];
            let stride = count + runs - 1;
            let streams = if down == 1 {
                &buf[base..base + stride]
            } else {
                deinterleave(&buf[base..base + stride * down], down, scratch);
                &scratch[..]
            };
            if up == 1 {
                fir(&mut out[first..], streams, stride, taps);
            } else {
                phase_out.clear();
                phase_out.resize(count, 0.0);
                fir(phase_out, streams, stride, taps);
                let dst = &mut out[first + q0 * up + r - k_start..];
                for (d, &y) in dst.iter_mut().step_by(up).zip(phase_out.iter()) {
                    *d = y;
                }
            }
        }
    }
}

/// Splits `span` into `down` streams of every `down`-th sample, stream `p`
/// (starting at `span[p]`) at `p * span.len() / down` in `scratch`.
fn deinterleave(span: &[f32], down: usize, scratch: &mut Vec<f32>) {
    /// One pass per stream over whole frames, appended without bounds
    /// checks or a zero fill first (a per-sample checked loop was a fifth
    /// of the 48k->16k call).
    fn split<const M: usize>(span: &[f32], scratch: &mut Vec<f32>) {
        let (frames, _) = span.as_chunks::<M>();
        for p in 0..M {
            scratch.extend(frames.iter().map(|frame| frame[p]));
        }
    }
    scratch.clear();
    match down {
        2 => split::<2>(span, scratch),
        3 => split::<3>(span, scratch),
        4 => split::<4>(span, scratch),
        5 => split::<5>(span, scratch),
        6 => split::<6>(span, scratch),
        7 => split::<7>(span, scratch),
        _ => split::<8>(span, scratch),
    }
}

/// `out[j] = sum_p sum_a run_p[a] * stream_p[j + a]` for every `j` in
/// `out`, where `taps` is split into `streams.len() / stride` equal runs and
/// stream `p` starts at `p * stride` in `streams`.
fn fir(out: &mut [f32], streams: &[f32], stride: usize, taps: &[f32]) {
    let n = out.len();
    if n >= FIR_BLOCK {
        blocks::<FIR_BLOCK>(out, streams, stride, taps);
    } else if n >= 16 {
        blocks::<16>(out, streams, stride, taps);
    } else {
        blocks::<1>(out, streams, stride, taps);
    }
}

/// Outputs per vector block: ten AVX registers of accumulators, and a
/// divisor of every per-phase count of the common 10 ms conversions.
const FIR_BLOCK: usize = 80;

/// Covers `out` (at least `B` long) with blocks of `B`, the last one
/// overlapping its neighbour rather than falling back to narrow code.
#[inline(always)]
fn blocks<const B: usize>(out: &mut [f32], streams: &[f32], stride: usize, taps: &[f32]) {
    let n = out.len();
    let mut j = 0;
    loop {
        let at = j.min(n - B);
        fir_block::<B>(&mut out[at..at + B], streams, stride, taps, at);
        if at == n - B {
            break;
        }
        j += B;
    }
}

/// `B` outputs from `at` on: each tap is broadcast against `B` neighbouring
/// inputs, so the accumulators stay in vector registers and no horizontal
/// sums are needed.
#[inline(always)]
fn fir_block<const B: usize>(
    out: &mut [f32],
    streams: &[f32],
    stride: usize,
    taps: &[f32],
    at: usize,
) {
    let runs = streams.len() / stride;
    let len = taps.len() / runs;
    let mut acc = [0.0f32; B];
    for (p, run) in taps.chunks_exact(len).enumerate() {
        let src = &streams[p * stride + at..p * stride + at + len + B - 1];
        for (a, &t) in run.iter().enumerate() {
            let s: &[f32; B] = src[a..a + B].try_into().expect("window length");
            for (acc, &x) in acc.iter_mut().zip(s) {
                *acc = if cfg!(target_feature = "fma") {
                    t.mul_add(x, *acc)
                } else {
                    *acc + t * x
                };
            }
        }
    }
    out.copy_from_slice(&acc);
}

/// Modified Bessel function of the first kind, order zero.
fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..64 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}
