//! Channel remixing plus streaming sample-rate conversion for 16-bit PCM.
//!
//! This plays the part of WebRTC's `RemixAndResample` behind LiveKit's
//! `AudioResampler`: callers push frame after frame and get frames back in
//! the target format, with filter state carried across calls so a stream of
//! frames comes out as one continuous signal.
//!
//! # Small-ratio fast path
//!
//! When `out_rate / in_rate` reduces to `up / down` with both at most 8
//! (48k<->16k, 48k<->24k, 48k->8k, 16k<->8k, 48k->32k, ...), a polyphase
//! Kaiser-windowed sinc FIR designed once per ratio does the conversion
//! instead of the sinc resampler: passband flat to +-0.002 dB up to 0.45x the
//! lower rate, >= 72 dB rejection from 0.55x the lower rate on (so aliases
//! and images land at most in the top 10% of the output band, never in the
//! passband), `46 * max(up, down) + 1` taps and a group delay of half of
//! them (about 1-3 ms, see `Polyphase`). It handles any frame length
//! directly, without buffered mode or its extra delay, and returns
//! `floor(total_in * up / down)` output samples in total, so whole 10 ms
//! frames map exactly. Everything below describes the sinc resampler path
//! used for all other rate pairs.
//!
//! # Block sizes and odd-sized frames
//!
//! The sinc resampler underneath works on fixed input blocks whose length
//! relates exactly to its output block (`block_in / block_out == in_rate /
//! out_rate`). For rates that are multiples of 100 Hz the block is 10 ms,
//! like WebRTC's (a few multiples of that below 5 kHz, where 10 ms is too
//! short for the filter); for other rate pairs (22.05 kHz, 11.025 kHz, ...)
//! it is the shortest exact pair of about 10 ms or more.
//!
//! Frames that are a whole number of blocks (10, 20, 40 ms, ...) are
//! converted at once with no added delay, and the output has exactly
//! `samples_per_channel * out_rate / in_rate` samples per channel.
//!
//! Any other frame length switches the resampler into *buffered* mode for
//! the rest of the stream: input is queued until a full block is available,
//! and one block of silence is put in front of the output so every call can
//! be answered at once. Each call then returns either
//! `floor(samples_per_channel * out_rate / in_rate)` or one more sample per
//! channel, chosen so the running totals of input and output never drift
//! apart; the cost is one block (about 10 ms) of extra delay and a short
//! silent gap at the moment the mode is entered. A change of rates or channel
//! counts starts a new stream (fresh filter state, direct mode again), as
//! WebRTC does.

use std::sync::{Arc, Mutex};

use sonora_common_audio::push_sinc_resampler::PushSincResampler;
use thiserror::Error;

/// Highest sample rate accepted, in Hz (WebRTC's ceiling).
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// Lowest sample rate accepted, in Hz. Below this, a single exact block pair
/// would span seconds of audio, which is never what a caller means.
pub const MIN_SAMPLE_RATE: u32 = 1_000;

/// Most channels accepted on either side.
pub const MAX_CHANNELS: u32 = 64;

/// Most output samples one call may produce (about 90 minutes of 48 kHz
/// mono); a bigger request is a caller bug and would only exhaust memory.
pub const MAX_OUTPUT_SAMPLES: u64 = 1 << 28;

/// The sinc resampler needs more than 48 input frames per block (its 32-tap
/// kernel plus half a kernel of history).
const MIN_BLOCK_FRAMES: usize = 50;

/// Why a remix/resample call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResampleError {
    /// A sample rate of zero or outside the supported range.
    #[error("invalid sample rate {0} Hz (supported: {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz)")]
    InvalidSampleRate(u32),
    /// A channel count of zero or above [`MAX_CHANNELS`].
    #[error("invalid channel count {0} (supported: 1..={MAX_CHANNELS})")]
    InvalidChannelCount(u32),
    /// The input slice does not hold `samples_per_channel * num_channels`
    /// samples.
    #[error(
        "input holds {actual} samples but {samples_per_channel} samples per channel x {num_channels} channels were announced"
    )]
    LengthMismatch {
        /// Samples actually passed.
        actual: usize,
        /// Announced samples per channel.
        samples_per_channel: u32,
        /// Announced channel count.
        num_channels: u32,
    },
    /// The call would produce more than [`MAX_OUTPUT_SAMPLES`] samples.
    #[error("frame too large: {0} output samples (limit {MAX_OUTPUT_SAMPLES})")]
    FrameTooLarge(u64),
}

/// The stream format a resampler is currently set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    in_rate: u32,
    out_rate: u32,
    in_channels: usize,
    out_channels: usize,
}

/// Stateful remixer and resampler for interleaved 16-bit PCM.
///
/// Not internally synchronised: one instance serves one stream, and the
/// `&mut self` receiver makes concurrent use impossible anyway. It is `Send`,
/// so it can move between threads with its owner.
#[derive(Debug, Default)]
pub struct AudioResampler {
    format: Option<Format>,
    /// Exact input/output block pair of the sinc resampler.
    block_in: usize,
    block_out: usize,
    /// One per working channel (`min(in_channels, out_channels)`): downmixing
    /// happens before resampling and upmixing after, so no channel is
    /// resampled twice.
    resamplers: Vec<PushSincResampler>,
    /// Remixed input not yet resampled, one vector per working channel.
    pending: Vec<Vec<f32>>,
    /// Resampled output not yet returned, one vector per working channel.
    ready: Vec<Vec<f32>>,
    /// Whether an odd-sized frame has switched the stream to buffered mode.
    buffered: bool,
    /// Input frames since buffered mode began, modulo `block_in`; enough to
    /// know how many output frames the running total calls for.
    phase: u64,
    /// Interleaved result handed back to the caller.
    output: Vec<i16>,
    /// Polyphase FIR bank when the rate pair is a small ratio; then
    /// `pending` holds each channel's filter history followed by new input,
    /// `phase` the input count modulo the ratio's denominator, and the sinc
    /// resamplers are unused.
    fast: Option<Arc<Polyphase>>,
    /// Work space of the polyphase path.
    scratch: Vec<f32>,
    phase_out: Vec<f32>,
}

impl AudioResampler {
    /// A resampler with no format yet; the first call sets it up.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remixes `input` to `out_channels` and converts it to `out_rate`.
    ///
    /// Channel mapping: with fewer output channels, output channel `j` is the
    /// mean of every input channel `i` with `i % out_channels == j` (so N->1
    /// averages everything, and 4->2 averages 0+2 and 1+3); with more output
    /// channels, output channel `k` copies input channel `k % in_channels`
    /// (so 1->N duplicates and 2->4 repeats L, R).
    ///
    /// Returns interleaved output that stays valid until the next call. See
    /// the module documentation for how frame sizes map to output sizes.
    pub fn remix_and_resample(
        &mut self,
        input: &[i16],
        samples_per_channel: u32,
        num_channels: u32,
        sample_rate: u32,
        out_channels: u32,
        out_rate: u32,
    ) -> Result<&[i16], ResampleError> {
        for rate in [sample_rate, out_rate] {
            if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
                return Err(ResampleError::InvalidSampleRate(rate));
            }
        }
        for channels in [num_channels, out_channels] {
            if !(1..=MAX_CHANNELS).contains(&channels) {
                return Err(ResampleError::InvalidChannelCount(channels));
            }
        }
        if u64::from(samples_per_channel) * u64::from(num_channels) != input.len() as u64 {
            return Err(ResampleError::LengthMismatch {
                actual: input.len(),
                samples_per_channel,
                num_channels,
            });
        }
        let out_samples = u64::from(samples_per_channel) * u64::from(out_rate)
            / u64::from(sample_rate)
            * u64::from(out_channels);
        if out_samples > MAX_OUTPUT_SAMPLES {
            return Err(ResampleError::FrameTooLarge(out_samples));
        }

        let format = Format {
            in_rate: sample_rate,
            out_rate,
            in_channels: num_channels as usize,
            out_channels: out_channels as usize,
        };
        if self.format != Some(format) {
            self.configure(format);
        }

        let frames = samples_per_channel as usize;
        let in_channels = format.in_channels;
        remix_append(input, in_channels, &mut self.pending);

        if format.in_rate == format.out_rate {
            std::mem::swap(&mut self.pending, &mut self.ready);
            return Ok(self.emit(frames, format.out_channels));
        }

        if let Some(fast) = &self.fast {
            let start = self.phase as usize;
            for (pending, ready) in self.pending.iter_mut().zip(&mut self.ready) {
                fast.run(
                    pending,
                    start,
                    frames,
                    ready,
                    &mut self.scratch,
                    &mut self.phase_out,
                );
                pending.drain(..frames);
            }
            self.phase = ((start + frames) % fast.down) as u64;
            return Ok(self.emit(usize::MAX, format.out_channels));
        }

        if !self.buffered && !frames.is_multiple_of(self.block_in) {
            self.buffered = true;
            self.phase = 0;
            for channel in &mut self.ready {
                channel.resize(channel.len() + self.block_out, 0.0);
            }
        }

        self.resample_full_blocks();

        let count = if self.buffered {
            let block_in = self.block_in as u64;
            let block_out = self.block_out as u64;
            let total = self.phase + frames as u64;
            let produced = (total / block_in) * block_out
                + (total % block_in) * block_out / block_in
                - self.phase * block_out / block_in;
            self.phase = total % block_in;
            usize::try_from(produced).unwrap_or(usize::MAX)
        } else {
            frames / self.block_in * self.block_out
        };
        Ok(self.emit(count, format.out_channels))
    }

    /// Resets all state for a new stream format.
    fn configure(&mut self, format: Format) {
        let working = format.in_channels.min(format.out_channels);
        let (block_in, block_out) = block_sizes(format.in_rate, format.out_rate);
        self.block_in = block_in;
        self.block_out = block_out;
        self.resamplers.clear();
        self.fast = None;
        self.pending = vec![Vec::new(); working];
        if format.in_rate != format.out_rate {
            if let Some(bank) = Polyphase::for_rates(format.in_rate, format.out_rate) {
                self.pending = vec![vec![0.0; bank.history]; working];
                self.fast = Some(bank);
            } else {
                self.resamplers
                    .extend((0..working).map(|_| PushSincResampler::new(block_in, block_out)));
            }
        }
        self.ready = vec![Vec::new(); working];
        self.buffered = false;
        self.phase = 0;
        self.format = Some(format);
    }

    /// Moves every complete input block through the sinc resamplers.
    fn resample_full_blocks(&mut self) {
        let (block_in, block_out) = (self.block_in, self.block_out);
        for ((resampler, pending), ready) in self
            .resamplers
            .iter_mut()
            .zip(&mut self.pending)
            .zip(&mut self.ready)
        {
            let blocks = pending.len() / block_in;
            if blocks == 0 {
                continue;
            }
            let start = ready.len();
            ready.resize(start + blocks * block_out, 0.0);
            for (src, dst) in pending
                .chunks_exact(block_in)
                .zip(ready[start..].chunks_exact_mut(block_out))
            {
                resampler.resample(src, dst);
            }
            pending.drain(..blocks * block_in);
        }
    }

    /// Interleaves (upmixing as needed) and converts `count` ready frames
    /// into the output buffer, dropping them from the queue.
    fn emit(&mut self, count: usize, out_channels: usize) -> &[i16] {
        let count = self.ready.first().map_or(0, |c| c.len().min(count));
        let working = self.ready.len();
        self.output.clear();
        if out_channels == 1 {
            self.output
                .extend(self.ready[0][..count].iter().map(|&s| to_i16(s)));
        } else {
            self.output.resize(count * out_channels, 0);
            for k in 0..out_channels {
                let src = &self.ready[k % working][..count];
                for (o, &s) in self
                    .output
                    .iter_mut()
                    .skip(k)
                    .step_by(out_channels)
                    .zip(src)
                {
                    *o = to_i16(s);
                }
            }
        }
        for channel in &mut self.ready {
            channel.drain(..count);
        }
        &self.output
    }
}

/// Picks the sinc resampler's exact input/output block pair.
fn block_sizes(in_rate: u32, out_rate: u32) -> (usize, usize) {
    let (base_in, base_out) = if in_rate.is_multiple_of(100) && out_rate.is_multiple_of(100) {
        (in_rate / 100, out_rate / 100)
    } else {
        let g = gcd(in_rate, out_rate);
        (in_rate / g, out_rate / g)
    };
    let (base_in, base_out) = (base_in as usize, base_out as usize);
    let target = (in_rate as usize / 100).max(MIN_BLOCK_FRAMES);
    let scale = target.div_ceil(base_in).max(1);
    (base_in * scale, base_out * scale)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

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
struct Polyphase {
    up: usize,
    down: usize,
    /// Taps per output phase, padded to a multiple of `down`.
    taps_per_phase: usize,
    /// Input samples kept between calls (each channel's `pending` holds at
    /// least this many before the newest call's input).
    history: usize,
    /// Prototype length, for the delay figure.
    taps: usize,
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
    fn for_rates(in_rate: u32, out_rate: u32) -> Option<Arc<Self>> {
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
    fn run(
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
    /// One pass per stream over whole frames: no bounds checks in the
    /// loop, so each pass is a tight strided copy (a per-sample checked
    /// loop was a fifth of the 48k->16k call).
    fn split<const M: usize>(span: &[f32], scratch: &mut [f32]) {
        let stride = span.len() / M;
        let (frames, _) = span.as_chunks::<M>();
        let frames = &frames[..stride];
        for (p, out) in scratch.chunks_exact_mut(stride).take(M).enumerate() {
            for (d, frame) in out.iter_mut().zip(frames) {
                *d = frame[p];
            }
        }
    }
    scratch.clear();
    scratch.resize(span.len(), 0.0);
    if span.len() < down {
        return;
    }
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

/// Appends `input` (interleaved, `in_channels` wide) to the planar working
/// channels in `dst`, averaging input channels that fold onto the same
/// working channel.
fn remix_append(input: &[i16], in_channels: usize, dst: &mut [Vec<f32>]) {
    let working = dst.len();
    if in_channels == 1 {
        dst[0].extend(input.iter().map(|&s| f32::from(s)));
    } else if working == in_channels {
        for (c, channel) in dst.iter_mut().enumerate() {
            channel.extend(
                input
                    .iter()
                    .skip(c)
                    .step_by(in_channels)
                    .map(|&s| f32::from(s)),
            );
        }
    } else {
        for (j, channel) in dst.iter_mut().enumerate() {
            let folded = (in_channels - j).div_ceil(working);
            let scale = 1.0 / folded as f32;
            channel.extend(input.chunks_exact(in_channels).map(|frame| {
                let sum: i32 = frame[j..]
                    .iter()
                    .step_by(working)
                    .map(|&s| i32::from(s))
                    .sum();
                sum as f32 * scale
            }));
        }
    }
}

/// Rounds half away from zero and saturates (NaN, which filtering 16-bit
/// input cannot produce, becomes -32768).
///
/// Clamping first and converting unchecked lets the compiler vectorise the
/// loop; a checked `as` cast was converted one sample at a time.
#[inline]
fn to_i16(sample: f32) -> i16 {
    let rounded = sample + 0.5f32.copysign(sample);
    // `max` and `min` return the other operand when one is NaN, so the
    // result is finite and within -32768..=32767.
    let clamped = rounded.max(-32768.0).min(32767.0);
    // SAFETY: `clamped` is finite and within i32's range.
    let whole = unsafe { clamped.to_int_unchecked::<i32>() };
    whole as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(rate: u32, freq: f64, amplitude: f64, start: usize, len: usize) -> Vec<i16> {
        (start..start + len)
            .map(|n| {
                (amplitude * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin()).round() as i16
            })
            .collect()
    }

    /// Level (dB relative to `amplitude`) of the component at `freq`, by
    /// correlating against a complex exponential.
    fn tone_level_db(signal: &[f64], rate: u32, freq: f64, amplitude: f64) -> f64 {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &x) in signal.iter().enumerate() {
            re += x * (w * n as f64).cos();
            im += x * (w * n as f64).sin();
        }
        let mag = 2.0 * (re * re + im * im).sqrt() / signal.len() as f64;
        20.0 * (mag / amplitude).log10()
    }

    fn rms(signal: &[f64]) -> f64 {
        (signal.iter().map(|x| x * x).sum::<f64>() / signal.len() as f64).sqrt()
    }

    fn channel(interleaved: &[i16], channels: usize, c: usize) -> Vec<f64> {
        interleaved[c..]
            .iter()
            .step_by(channels)
            .map(|&s| f64::from(s))
            .collect()
    }

    /// Streams a 1 kHz sine (the same on every input channel) through the
    /// resampler in frames of `frame_frames` and returns the concatenated
    /// output.
    fn stream_sine(
        in_rate: u32,
        out_rate: u32,
        in_channels: u32,
        out_channels: u32,
        frame_frames: usize,
        frames_total: usize,
    ) -> Vec<i16> {
        let mut r = AudioResampler::new();
        let mono = sine(in_rate, 1000.0, 10_000.0, 0, frames_total);
        let mut out = Vec::new();
        for chunk in mono.chunks_exact(frame_frames) {
            let input: Vec<i16> = chunk
                .iter()
                .flat_map(|&s| std::iter::repeat_n(s, in_channels as usize))
                .collect();
            let got = r
                .remix_and_resample(
                    &input,
                    frame_frames as u32,
                    in_channels,
                    in_rate,
                    out_channels,
                    out_rate,
                )
                .unwrap();
            out.extend_from_slice(got);
        }
        out
    }

    /// Frequency, level and smoothness of a resampled 1 kHz sine.
    fn check_sine(out: &[i16], channels: usize, rate: u32) {
        for c in 0..channels {
            let x = channel(out, channels, c);
            // Skip the start-up transient.
            let settled = &x[x.len() / 5..];
            let level = tone_level_db(settled, rate, 1000.0, 10_000.0);
            assert!(level.abs() < 1.0, "channel {c}: 1 kHz level {level:.2} dB");
            // Everything else (other frequencies, clicks) is far below.
            let residual: Vec<f64> = {
                let w = 2.0 * PI * 1000.0 / f64::from(rate);
                // Fit amplitude and phase, subtract.
                let (mut re, mut im) = (0.0, 0.0);
                for (n, &v) in settled.iter().enumerate() {
                    re += v * (w * n as f64).cos();
                    im += v * (w * n as f64).sin();
                }
                let k = 2.0 / settled.len() as f64;
                settled
                    .iter()
                    .enumerate()
                    .map(|(n, &v)| v - k * (re * (w * n as f64).cos() + im * (w * n as f64).sin()))
                    .collect()
            };
            let snr = 20.0 * (rms(settled) / rms(&residual)).log10();
            println!("channel {c} at {rate} Hz: level {level:.3} dB, SNR {snr:.1} dB");
            assert!(snr > 40.0, "channel {c}: SNR {snr:.1} dB");
            // No discontinuity: the largest step between neighbours is what a
            // clean sine of this level can produce.
            let max_step = settled
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0, f64::max);
            let allowed = 10_000.0 * 2.0 * PI * 1000.0 / f64::from(rate) * 1.1 + 2.0;
            assert!(
                max_step < allowed,
                "channel {c}: step {max_step} > {allowed}"
            );
            // Zero crossings: 2 per period.
            let crossings = settled
                .windows(2)
                .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
                .count();
            let expected = settled.len() as f64 / f64::from(rate) * 2000.0;
            assert!(
                (crossings as f64 - expected).abs() <= 2.0,
                "channel {c}: {crossings} crossings, expected {expected}"
            );
        }
    }

    #[test]
    fn to_i16_rounds_and_saturates() {
        let cases = [
            (0.0, 0),
            (0.49, 0),
            (0.5, 1),
            (-0.5, -1),
            (-1.49, -1),
            (32766.6, 32767),
            (40000.0, 32767),
            (-32768.4, -32768),
            (-1e9, -32768),
            (f32::INFINITY, 32767),
            (f32::NEG_INFINITY, -32768),
            (f32::NAN, -32768),
        ];
        for (x, want) in cases {
            assert_eq!(to_i16(x), want, "to_i16({x})");
        }
    }

    #[test]
    fn downsample_48k_to_16k_mono() {
        let out = stream_sine(48_000, 16_000, 1, 1, 480, 48_000);
        assert_eq!(out.len(), 16_000);
        check_sine(&out, 1, 16_000);
    }

    #[test]
    fn resample_44k1_to_48k() {
        let out = stream_sine(44_100, 48_000, 1, 1, 441, 44_100);
        assert_eq!(out.len(), 48_000);
        check_sine(&out, 1, 48_000);
    }

    #[test]
    fn upsample_16k_to_48k() {
        let out = stream_sine(16_000, 48_000, 1, 1, 160, 16_000);
        assert_eq!(out.len(), 48_000);
        check_sine(&out, 1, 48_000);
    }

    #[test]
    fn stereo_to_mono_with_resampling() {
        let out = stream_sine(48_000, 16_000, 2, 1, 480, 48_000);
        assert_eq!(out.len(), 16_000);
        check_sine(&out, 1, 16_000);
    }

    #[test]
    fn mono_to_stereo_with_resampling() {
        let out = stream_sine(16_000, 48_000, 1, 2, 160, 16_000);
        assert_eq!(out.len(), 96_000);
        check_sine(&out, 2, 48_000);
        assert_eq!(channel(&out, 2, 0), channel(&out, 2, 1));
    }

    #[test]
    fn multiples_of_10ms_map_exactly_without_delay() {
        // 20 ms frames are split into two 10 ms blocks: the result must be
        // sample-identical to feeding 10 ms frames.
        let a = stream_sine(48_000, 16_000, 1, 1, 960, 48_000);
        let b = stream_sine(48_000, 16_000, 1, 1, 480, 48_000);
        assert_eq!(a, b);
    }

    #[test]
    fn odd_frame_sizes_stay_continuous_and_exact() {
        for (in_rate, out_rate, frame) in [
            (48_000, 16_000, 1024),
            (48_000, 44_100, 1000),
            (44_100, 48_000, 512),
            (16_000, 48_000, 100),
            (22_050, 48_000, 1024),
            (48_000, 22_050, 480),
            (8_000, 11_025, 80),
        ] {
            let total = in_rate as usize / frame * frame;
            let mut r = AudioResampler::new();
            let mono = sine(in_rate, 1000.0, 10_000.0, 0, total);
            let mut out = Vec::new();
            for chunk in mono.chunks_exact(frame) {
                let got = r
                    .remix_and_resample(chunk, frame as u32, 1, in_rate, 1, out_rate)
                    .unwrap();
                let exact = frame as f64 * f64::from(out_rate) / f64::from(in_rate);
                assert!(
                    (got.len() as f64 - exact).abs() < 1.0,
                    "{in_rate}->{out_rate}/{frame}: {} vs {exact}",
                    got.len()
                );
                out.extend_from_slice(got);
            }
            let expected_total = (total as u64 * u64::from(out_rate) / u64::from(in_rate)) as usize;
            assert_eq!(out.len(), expected_total, "{in_rate}->{out_rate}/{frame}");
            check_sine(&out, 1, out_rate);
        }
    }

    #[test]
    fn switching_frame_sizes_mid_stream_keeps_the_sine() {
        let mut r = AudioResampler::new();
        let mono = sine(48_000, 1000.0, 10_000.0, 0, 48_000);
        let mut out = Vec::new();
        let mut at = 0;
        for size in [480usize, 960, 333, 480, 1000, 7].iter().cycle() {
            if at + size > mono.len() {
                break;
            }
            let got = r
                .remix_and_resample(&mono[at..at + size], *size as u32, 1, 48_000, 1, 16_000)
                .unwrap();
            out.extend_from_slice(got);
            at += size;
        }
        assert_eq!(out.len(), at / 3);
        // The switch to buffered mode leaves one 10 ms gap early on; judge
        // the signal after it.
        check_sine(&out[1600..], 1, 16_000);
    }

    #[test]
    fn same_rate_only_remixes() {
        let mut r = AudioResampler::new();
        let input = [100i16, 300, -5, 6, 7, 8];
        let out = r
            .remix_and_resample(&input, 3, 2, 48_000, 1, 48_000)
            .unwrap();
        assert_eq!(out, &[200, 1, 8]);
        let out = r
            .remix_and_resample(&[1, 2], 2, 1, 8_000, 3, 8_000)
            .unwrap();
        assert_eq!(out, &[1, 1, 1, 2, 2, 2]);
        // 4 -> 2 folds channels 0+2 and 1+3.
        let out = r
            .remix_and_resample(&[10, 20, 30, 40], 1, 4, 8_000, 2, 8_000)
            .unwrap();
        assert_eq!(out, &[20, 30]);
        // 2 -> 3 repeats L, R, L.
        let out = r
            .remix_and_resample(&[1, 2], 1, 2, 8_000, 3, 8_000)
            .unwrap();
        assert_eq!(out, &[1, 2, 1]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut r = AudioResampler::new();
        let frame = [0i16; 480];
        assert_eq!(
            r.remix_and_resample(&frame, 480, 1, 0, 1, 16_000),
            Err(ResampleError::InvalidSampleRate(0))
        );
        assert_eq!(
            r.remix_and_resample(&frame, 480, 1, 48_000, 1, 0),
            Err(ResampleError::InvalidSampleRate(0))
        );
        assert_eq!(
            r.remix_and_resample(&frame, 480, 1, 48_000, 1, 400_000),
            Err(ResampleError::InvalidSampleRate(400_000))
        );
        assert_eq!(
            r.remix_and_resample(&frame, 480, 0, 48_000, 1, 16_000),
            Err(ResampleError::InvalidChannelCount(0))
        );
        assert_eq!(
            r.remix_and_resample(&frame, 480, 1, 48_000, 0, 16_000),
            Err(ResampleError::InvalidChannelCount(0))
        );
        assert!(matches!(
            r.remix_and_resample(&frame, 480, 2, 48_000, 1, 16_000),
            Err(ResampleError::LengthMismatch { .. })
        ));
        assert!(matches!(
            r.remix_and_resample(&frame, u32::MAX, u32::MAX, 48_000, 1, 16_000),
            Err(ResampleError::InvalidChannelCount(_))
        ));
        assert!(matches!(
            r.remix_and_resample(&frame, u32::MAX, 64, 48_000, 1, 16_000),
            Err(ResampleError::LengthMismatch { .. })
        ));
        // Still usable afterwards, and empty input is fine.
        assert_eq!(
            r.remix_and_resample(&frame, 480, 1, 48_000, 1, 16_000)
                .unwrap()
                .len(),
            160
        );
        assert!(
            r.remix_and_resample(&[], 0, 1, 48_000, 1, 16_000)
                .unwrap()
                .is_empty()
        );
        assert!(
            r.remix_and_resample(&[], 0, 2, 48_000, 2, 16_000)
                .unwrap()
                .is_empty()
        );
        assert!(
            r.remix_and_resample(&[], 0, 4, 44_100, 3, 44_100)
                .unwrap()
                .is_empty()
        );
        // A million samples of 1 kHz audio would become 384 million.
        let long = vec![0i16; 1_000_000];
        assert!(matches!(
            r.remix_and_resample(&long, 1_000_000, 1, 1_000, 1, 384_000),
            Err(ResampleError::FrameTooLarge(_))
        ));
    }

    #[test]
    fn extreme_rate_pairs_do_not_panic() {
        let mut r = AudioResampler::new();
        for (a, b) in [
            (MIN_SAMPLE_RATE, MAX_SAMPLE_RATE),
            (MAX_SAMPLE_RATE, MIN_SAMPLE_RATE),
            (1_001, 48_000),
            (383_999, 8_000),
            (7_919, 7_907),
        ] {
            for frames in [1u32, a / 100, a / 100 + 1, a / 10] {
                let input = vec![1000i16; frames as usize * 2];
                let out = r.remix_and_resample(&input, frames, 2, a, 1, b).unwrap();
                let exact = f64::from(frames) * f64::from(b) / f64::from(a);
                assert!(
                    (out.len() as f64 - exact).abs() <= 1.0,
                    "{a}->{b} x{frames}"
                );
            }
        }
    }

    #[test]
    fn random_calls_never_panic() {
        // A small linear congruential generator keeps the test deterministic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let rates = [
            8_000, 11_025, 16_000, 22_050, 24_000, 44_100, 48_000, 96_000,
        ];
        let mut r = AudioResampler::new();
        let (mut in_rate, mut out_rate, mut in_ch, mut out_ch) = (48_000, 16_000, 1, 1);
        for _ in 0..300 {
            if next(8) == 0 {
                in_rate = rates[next(8) as usize];
                out_rate = rates[next(8) as usize];
                in_ch = 1 + next(6) as u32;
                out_ch = 1 + next(6) as u32;
            }
            let frames = match next(3) {
                0 => in_rate / 100,
                1 => in_rate / 50,
                _ => next(2_000) as u32,
            };
            let input: Vec<i16> = (0..frames * in_ch).map(|_| next(65_536) as i16).collect();
            let out = r
                .remix_and_resample(&input, frames, in_ch, in_rate, out_ch, out_rate)
                .unwrap();
            let exact = f64::from(frames) * f64::from(out_rate) / f64::from(in_rate);
            assert_eq!(out.len() % out_ch as usize, 0);
            assert!((out.len() as f64 / f64::from(out_ch) - exact).abs() <= 1.0);
        }
    }

    #[test]
    fn resampler_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<AudioResampler>();
    }

    /// Rate pairs that take the polyphase path.
    const FAST_PAIRS: [(u32, u32); 9] = [
        (48_000, 16_000),
        (48_000, 24_000),
        (48_000, 8_000),
        (16_000, 48_000),
        (24_000, 48_000),
        (8_000, 16_000),
        (16_000, 8_000),
        (32_000, 16_000),
        (48_000, 32_000),
    ];

    /// Feeds interleaved `input` in frames of `frame` samples per channel
    /// (the last one may be shorter) and concatenates the output.
    fn run_frames(
        in_rate: u32,
        out_rate: u32,
        channels: u32,
        input: &[i16],
        frame: usize,
    ) -> Vec<i16> {
        let mut r = AudioResampler::new();
        let mut out = Vec::new();
        for chunk in input.chunks(frame * channels as usize) {
            let n = (chunk.len() / channels as usize) as u32;
            let got = r
                .remix_and_resample(chunk, n, channels, in_rate, channels, out_rate)
                .unwrap();
            out.extend_from_slice(got);
        }
        out
    }

    /// Least-squares fit of a sine at `freq`: (amplitude, rms of the rest).
    fn fit_tone(x: &[f64], rate: u32, freq: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (n, &v) in x.iter().enumerate() {
            let (s, c) = (w * n as f64).sin_cos();
            cc += c * c;
            ss += s * s;
            cs += c * s;
            xc += v * c;
            xs += v * s;
        }
        let det = cc * ss - cs * cs;
        let a = (xc * ss - xs * cs) / det;
        let b = (xs * cc - xc * cs) / det;
        let resid: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(n, &v)| {
                let (s, c) = (w * n as f64).sin_cos();
                v - a * c - b * s
            })
            .collect();
        ((a * a + b * b).sqrt(), rms(&resid))
    }

    /// One second of a sine through a rate pair in 10 ms frames; returns the
    /// output after the first 100 ms.
    fn settled_tone(in_rate: u32, out_rate: u32, freq: f64) -> Vec<f64> {
        let input = sine(in_rate, freq, 10_000.0, 0, in_rate as usize);
        let out = run_frames(in_rate, out_rate, 1, &input, in_rate as usize / 100);
        assert_eq!(out.len(), out_rate as usize);
        channel(&out, 1, 0)[out_rate as usize / 10..].to_vec()
    }

    #[test]
    fn fast_path_passband_keeps_level_and_frequency() {
        for (a, b) in FAST_PAIRS {
            assert!(Polyphase::for_rates(a, b).is_some(), "{a}->{b}");
            let low = f64::from(a.min(b));
            for frac in [0.02, 0.1, 0.2, 0.3, 0.4, 0.45] {
                let freq = frac * low;
                let x = settled_tone(a, b, freq);
                let (amp, resid) = fit_tone(&x, b, freq);
                let level = 20.0 * (amp / 10_000.0).log10();
                let snr = 20.0 * (amp / std::f64::consts::SQRT_2 / resid).log10();
                println!("{a}->{b} {freq:.0} Hz: level {level:+.4} dB, SNR {snr:.1} dB");
                assert!(level.abs() < 0.2, "{a}->{b} {freq} Hz: {level:.3} dB");
                // The fitted frequency explains nearly everything: the tone
                // came out where it went in.
                assert!(snr > 60.0, "{a}->{b} {freq} Hz: SNR {snr:.1} dB");
            }
        }
    }

    #[test]
    fn fast_path_rejects_aliases_and_images() {
        for (a, b) in FAST_PAIRS {
            let low = f64::from(a.min(b));
            for frac in [0.56, 0.65, 0.8, 1.0, 1.5, 2.0, 3.0] {
                let (freq, probe) = if b < a {
                    // Downsampling: a tone above the output Nyquist must not
                    // fold back.
                    (frac * low, None)
                } else {
                    // Upsampling: the image of a passband tone, mirrored
                    // about the input Nyquist, must not appear.
                    (f64::from(a) - frac * low, Some(frac * low))
                };
                if freq <= 0.0 || freq >= 0.49 * f64::from(a) {
                    continue;
                }
                let x = settled_tone(a, b, freq);
                let level = match probe {
                    None => 20.0 * (rms(&x) * std::f64::consts::SQRT_2 / 10_000.0).log10(),
                    Some(image) => {
                        let (amp, _) = fit_tone(&x, b, image);
                        20.0 * (amp / 10_000.0).log10()
                    }
                };
                println!("{a}->{b} {freq:.0} Hz: unwanted output {level:.1} dB");
                assert!(level < -60.0, "{a}->{b} {freq} Hz: {level:.1} dB");
            }
        }
    }

    #[test]
    fn fast_path_1khz_snr() {
        for (a, b) in FAST_PAIRS {
            let x = settled_tone(a, b, 1000.0);
            let (amp, resid) = fit_tone(&x, b, 1000.0);
            let snr = 20.0 * (amp / std::f64::consts::SQRT_2 / resid).log10();
            println!("{a}->{b} 1 kHz: SNR {snr:.1} dB");
            assert!(snr >= 70.0, "{a}->{b}: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn fast_path_frames_join_seamlessly() {
        for (a, b) in FAST_PAIRS {
            for channels in [1u32, 2] {
                let mono = sine(a, 1234.5, 12_000.0, 0, a as usize);
                let input: Vec<i16> = mono
                    .iter()
                    .flat_map(|&s| std::iter::repeat_n(s, channels as usize))
                    .collect();
                let whole = run_frames(a, b, channels, &input, a as usize);
                let tens = run_frames(a, b, channels, &input, a as usize / 100);
                let odd = run_frames(a, b, channels, &input, 37);
                assert_eq!(whole.len(), (b * channels) as usize);
                assert_eq!(whole, tens, "{a}->{b} x{channels}: 10 ms frames");
                assert_eq!(whole, odd, "{a}->{b} x{channels}: 37-sample frames");
            }
        }
    }

    #[test]
    fn fast_path_stereo_channels_stay_apart() {
        for (a, b) in FAST_PAIRS {
            let low = f64::from(a.min(b));
            let tones = [0.05 * low, 0.3 * low];
            let left = sine(a, tones[0], 10_000.0, 0, a as usize);
            let right = sine(a, tones[1], 10_000.0, 0, a as usize);
            let input: Vec<i16> = left
                .iter()
                .zip(&right)
                .flat_map(|(&l, &r)| [l, r])
                .collect();
            let out = run_frames(a, b, 2, &input, a as usize / 100);
            for c in 0..2 {
                let x = &channel(&out, 2, c)[b as usize / 10..];
                let (own, _) = fit_tone(x, b, tones[c]);
                let (other, _) = fit_tone(x, b, tones[1 - c]);
                let own_db = 20.0 * (own / 10_000.0).log10();
                let leak_db = 20.0 * (other / 10_000.0).log10();
                assert!(own_db.abs() < 0.2, "{a}->{b} ch{c}: {own_db:.3} dB");
                assert!(leak_db < -90.0, "{a}->{b} ch{c}: crosstalk {leak_db:.1} dB");
            }
        }
    }

    #[test]
    fn fast_path_delay_is_half_the_filter() {
        // An impulse comes out centred (taps - 1) / (2 * down) output
        // samples later.
        for (a, b) in FAST_PAIRS {
            let bank = Polyphase::for_rates(a, b).unwrap();
            let mut input = vec![0i16; a as usize / 10];
            let at = a as usize / 50;
            input[at] = 20_000;
            let out = run_frames(a, b, 1, &input, a as usize / 100);
            let peak = out
                .iter()
                .enumerate()
                .max_by_key(|(_, s)| s.unsigned_abs())
                .map(|(i, _)| i)
                .unwrap();
            let expected = at as f64 * f64::from(b) / f64::from(a)
                + (bank.taps - 1) as f64 / (2 * bank.down) as f64;
            println!(
                "{a}->{b}: {} taps, delay {:.2} ms",
                bank.taps,
                (bank.taps - 1) as f64 / (2 * bank.up) as f64 / f64::from(a) * 1000.0
            );
            assert!(
                (peak as f64 - expected).abs() <= 1.0,
                "{a}->{b}: peak {peak}, expected {expected}"
            );
        }
    }

    /// Throughput of the hot path for one conversion of 10 ms frames.
    fn bench_pair(in_rate: u32, out_rate: u32, channels: u32) {
        let mut r = AudioResampler::new();
        let frames = in_rate / 100;
        let frame: Vec<i16> = sine(in_rate, 1000.0, 10_000.0, 0, frames as usize)
            .into_iter()
            .flat_map(|s| std::iter::repeat_n(s, channels as usize))
            .collect();
        let mut acc = 0i64;
        let label = format!(
            "remix_and_resample 10 ms {}k->{}k x{channels}",
            in_rate / 1000,
            out_rate / 1000
        );
        crate::audio::frame::bench::report(&label, 300_000, || {
            let out = r
                .remix_and_resample(&frame, frames, channels, in_rate, channels, out_rate)
                .unwrap();
            acc += i64::from(out[0]);
        });
        assert_ne!(acc, i64::MIN);
    }

    /// Throughput of the hot path; run with
    /// `cargo test -p livekit-core --release audio -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark"]
    fn bench_remix_and_resample_48k_to_16k_mono() {
        bench_pair(48_000, 16_000, 1);
    }

    /// The other common voice conversions, same measurement.
    #[test]
    #[ignore = "benchmark"]
    fn bench_remix_and_resample_common_pairs() {
        for (a, b, c) in [
            (48_000, 24_000, 1),
            (16_000, 48_000, 1),
            (48_000, 16_000, 2),
            (48_000, 8_000, 1),
            (24_000, 48_000, 1),
            (48_000, 32_000, 1),
        ] {
            bench_pair(a, b, c);
        }
    }
}
