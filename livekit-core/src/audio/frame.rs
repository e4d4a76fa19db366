//! The PCM frame type shared by sources, streams and the DSP helpers.

use thiserror::Error;

/// Why a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The requested size does not fit in memory (or in `usize`); sizes come
    /// from foreign callers, so this is reported rather than aborting.
    #[error("audio frame of {samples_per_channel} samples x {num_channels} channels is too large")]
    TooLarge {
        /// Requested samples per channel.
        samples_per_channel: u32,
        /// Requested channel count.
        num_channels: u32,
    },
}

/// Interleaved 16-bit PCM.
///
/// The layout matches what LiveKit's SDKs hand across the FFI boundary
/// (`data[frame * num_channels + channel]`), so frames can be copied in and
/// out without reshuffling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AudioFrame {
    /// Samples, interleaved by channel.
    pub data: Vec<i16>,
    /// Samples per second of each channel.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub num_channels: u32,
    /// Samples in each channel; `data.len() == samples_per_channel * num_channels`.
    pub samples_per_channel: u32,
}

impl AudioFrame {
    /// A frame of silence.
    ///
    /// Meant for sizes the caller already trusts; use [`AudioFrame::try_new`]
    /// for sizes that arrive from outside, since a huge request would abort
    /// the process on allocation failure.
    pub fn new(sample_rate: u32, num_channels: u32, samples_per_channel: u32) -> Self {
        let len = samples_per_channel as usize * num_channels as usize;
        Self {
            data: vec![0; len],
            sample_rate,
            num_channels,
            samples_per_channel,
        }
    }

    /// A frame of silence, failing instead of aborting when the size cannot
    /// be allocated.
    pub fn try_new(
        sample_rate: u32,
        num_channels: u32,
        samples_per_channel: u32,
    ) -> Result<Self, FrameError> {
        let too_large = FrameError::TooLarge {
            samples_per_channel,
            num_channels,
        };
        let len = (samples_per_channel as usize)
            .checked_mul(num_channels as usize)
            .ok_or_else(|| too_large.clone())?;
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| too_large)?;
        data.resize(len, 0);
        Ok(Self {
            data,
            sample_rate,
            num_channels,
            samples_per_channel,
        })
    }

    /// Playing time of the frame; 0 for a frame without a sample rate rather
    /// than infinity, so callers summing durations stay finite.
    pub fn duration_ms(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        f64::from(self.samples_per_channel) * 1000.0 / f64::from(self.sample_rate)
    }
}

/// Throughput measurement shared by the audio modules' ignored benchmark
/// tests.
#[cfg(test)]
pub(crate) mod bench {
    use std::time::Instant;

    /// Time this thread has spent on a CPU, where Linux exposes it; on a
    /// shared machine it tracks the work done far better than wall time.
    fn thread_cpu_seconds() -> Option<f64> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
        Some(nanos / 1e9)
    }

    /// Runs `step` `iterations` times and prints calls per second, by wall
    /// clock and (where available) per second of CPU time.
    pub(crate) fn report(label: &str, iterations: usize, mut step: impl FnMut()) {
        let cpu_start = thread_cpu_seconds();
        let start = Instant::now();
        for _ in 0..iterations {
            step();
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = thread_cpu_seconds()
            .zip(cpu_start)
            .map(|(end, begin)| end - begin);
        let per_cpu = cpu.map_or_else(
            || "n/a".to_owned(),
            |c| format!("{:.0}", iterations as f64 / c),
        );
        println!(
            "{label}: {:.0} frames/s wall, {per_cpu} frames per CPU-second",
            iterations as f64 / wall
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_silent_and_sized() {
        let f = AudioFrame::new(48_000, 2, 480);
        assert_eq!(f.data.len(), 960);
        assert!(f.data.iter().all(|&s| s == 0));
        assert_eq!(f.duration_ms(), 10.0);
    }

    #[test]
    fn duration_of_odd_rates() {
        assert!((AudioFrame::new(44_100, 1, 441).duration_ms() - 10.0).abs() < 1e-9);
        assert_eq!(AudioFrame::new(0, 1, 441).duration_ms(), 0.0);
    }

    #[test]
    fn try_new_rejects_impossible_sizes() {
        assert!(AudioFrame::try_new(48_000, u32::MAX, u32::MAX).is_err());
        assert_eq!(
            AudioFrame::try_new(16_000, 1, 160).unwrap(),
            AudioFrame::new(16_000, 1, 160)
        );
    }
}
