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

use std::sync::Arc;

use sonora_common_audio::push_sinc_resampler::PushSincResampler;
use thiserror::Error;

use polyphase::Polyphase;

mod polyphase;
#[cfg(test)]
mod tests;

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
// `clamp` keeps NaN, which the unchecked conversion must never see.
#[allow(clippy::manual_clamp)]
fn to_i16(sample: f32) -> i16 {
    let rounded = sample + 0.5f32.copysign(sample);
    // `max` and `min` return the other operand when one is NaN, so the
    // result is finite and within -32768..=32767.
    let clamped = rounded.max(-32768.0).min(32767.0);
    // SAFETY: `clamped` is finite and within i32's range.
    let whole = unsafe { clamped.to_int_unchecked::<i32>() };
    whole as i16
}
