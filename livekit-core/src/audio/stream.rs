//! Audio streams: a consumer's view of a source, in the consumer's format.
//!
//! A stream registers as a sink of its source, converts each 10 ms frame to
//! the rate and channel count the consumer asked for, regroups samples into
//! frames of the requested duration, and queues them until the consumer reads
//! them. A consumer that falls behind loses the oldest frames when it set a
//! queue bound, which keeps a live stream live instead of ever later.

use std::sync::Arc;

use parking_lot::Mutex;

use super::frame::AudioFrame;
use super::resampler::AudioResampler;
use super::source::{AudioSink, NativeAudioSource, SinkId};
use crate::queue::FrameQueue;

/// What a consumer wants from a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioStreamOptions {
    /// Output sample rate in Hz.
    pub sample_rate: u32,
    /// Output channel count.
    pub num_channels: u32,
    /// Output frame duration; `None` or 0 keeps the source's 10 ms frames.
    pub frame_size_ms: Option<u32>,
    /// Most frames kept unread; `None` or 0 keeps everything.
    pub queue_size_frames: Option<u32>,
}

/// Why a stream could not be created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AudioStreamError {
    /// The output format is out of range.
    #[error(
        "unsupported stream format: {sample_rate} Hz, {num_channels} channels, {frame_size_ms} ms frames"
    )]
    Format {
        /// Requested rate.
        sample_rate: u32,
        /// Requested channel count.
        num_channels: u32,
        /// Requested frame duration.
        frame_size_ms: u32,
    },
}

/// A stream of frames from one source, ending when closed or dropped.
pub struct NativeAudioStream {
    shared: Arc<Shared>,
    source: NativeAudioSource,
    sink: SinkId,
}

struct Shared {
    options: AudioStreamOptions,
    /// Samples per channel in one output frame.
    frame_len: usize,
    convert: Mutex<Convert>,
    queue: FrameQueue<AudioFrame>,
}

/// Format conversion state, carried from one source frame to the next.
struct Convert {
    resampler: AudioResampler,
    /// Converted samples not yet making a whole output frame.
    pending: Vec<i16>,
}

impl NativeAudioStream {
    /// Checks that a stream with `options` can be made; returns the
    /// samples per channel of one output frame.
    pub fn validate(options: AudioStreamOptions) -> Result<usize, AudioStreamError> {
        let frame_size_ms = options.frame_size_ms.filter(|&ms| ms > 0).unwrap_or(10);
        let frame_len = options.sample_rate as u64 * frame_size_ms as u64 / 1000;
        if !(8_000..=192_000).contains(&options.sample_rate)
            || !(1..=8).contains(&options.num_channels)
            || frame_size_ms > 10_000
            || frame_len == 0
        {
            return Err(AudioStreamError::Format {
                sample_rate: options.sample_rate,
                num_channels: options.num_channels,
                frame_size_ms,
            });
        }
        Ok(frame_len as usize)
    }

    /// Starts receiving from `source`.
    pub fn new(
        source: &NativeAudioSource,
        options: AudioStreamOptions,
    ) -> Result<Self, AudioStreamError> {
        let frame_len = Self::validate(options)?;
        let shared = Arc::new(Shared {
            options,
            frame_len,
            convert: Mutex::new(Convert {
                resampler: AudioResampler::new(),
                pending: Vec::new(),
            }),
            queue: FrameQueue::new(options.queue_size_frames.map(|n| n as usize)),
        });
        let sink = source.add_sink(shared.clone());
        Ok(Self {
            shared,
            source: source.clone(),
            sink,
        })
    }

    /// The next frame, or `None` once the stream is closed.
    pub async fn next(&self) -> Option<AudioFrame> {
        self.shared.queue.pop().await
    }

    /// Stops receiving and discards unread frames: a consumer that closes
    /// a live stream wants it to end now, not after the backlog.
    pub fn close(&self) {
        self.source.remove_sink(self.sink);
        self.shared.queue.close();
    }
}

impl Drop for NativeAudioStream {
    fn drop(&mut self) {
        self.close();
    }
}

impl AudioSink for Shared {
    fn on_frame(&self, data: &[i16], sample_rate: u32, num_channels: u32) {
        if self.queue.is_closed() {
            return;
        }
        let out_rate = self.options.sample_rate;
        let out_channels = self.options.num_channels;
        let frame_samples = self.frame_len * out_channels as usize;
        let mut convert = self.convert.lock();
        let Convert { resampler, pending } = &mut *convert;
        if sample_rate == out_rate && num_channels == out_channels {
            pending.extend_from_slice(data);
        } else {
            let per_channel = (data.len() / num_channels as usize) as u32;
            match resampler.remix_and_resample(
                data,
                per_channel,
                num_channels,
                sample_rate,
                out_channels,
                out_rate,
            ) {
                Ok(converted) => pending.extend_from_slice(converted),
                Err(err) => {
                    log::warn!("audio stream dropped a frame: {err}");
                    return;
                }
            }
        }
        let mut frames = Vec::new();
        while pending.len() >= frame_samples {
            let rest = pending.split_off(frame_samples);
            frames.push(AudioFrame {
                data: std::mem::replace(pending, rest),
                sample_rate: out_rate,
                num_channels: out_channels,
                samples_per_channel: self.frame_len as u32,
            });
        }
        // Pushed under the conversion lock, so that captures racing on two
        // threads cannot reorder frames.
        self.queue.push(frames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn options(rate: u32, channels: u32) -> AudioStreamOptions {
        AudioStreamOptions {
            sample_rate: rate,
            num_channels: channels,
            frame_size_ms: None,
            queue_size_frames: None,
        }
    }

    fn source(rt: &tokio::runtime::Runtime) -> NativeAudioSource {
        NativeAudioSource::new(48_000, 1, 0, rt.handle().clone()).unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn passes_frames_through_and_ends_on_close() {
        let rt = runtime();
        let source = source(&rt);
        let stream = NativeAudioStream::new(&source, options(48_000, 1)).unwrap();
        source.capture_frame(&[3; 480], 48_000, 1, 480).unwrap();
        rt.block_on(async {
            let frame = stream.next().await.unwrap();
            assert_eq!(frame.samples_per_channel, 480);
            assert!(frame.data.iter().all(|&s| s == 3));
            source.capture_frame(&[4; 480], 48_000, 1, 480).unwrap();
            stream.close();
            assert!(stream.next().await.is_none(), "close discards the backlog");
        });
    }

    #[test]
    fn converts_format_and_regroups() {
        let rt = runtime();
        let source = source(&rt);
        let mut opts = options(16_000, 2);
        opts.frame_size_ms = Some(20);
        let stream = NativeAudioStream::new(&source, opts).unwrap();
        for _ in 0..4 {
            source.capture_frame(&[1000; 480], 48_000, 1, 480).unwrap();
        }
        rt.block_on(async {
            for _ in 0..2 {
                let frame = tokio::time::timeout(Duration::from_secs(1), stream.next())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!((frame.sample_rate, frame.num_channels), (16_000, 2));
                assert_eq!(frame.samples_per_channel, 320);
                assert_eq!(frame.data.len(), 640);
            }
        });
    }

    #[test]
    fn bounded_queue_drops_oldest() {
        let rt = runtime();
        let source = source(&rt);
        let mut opts = options(48_000, 1);
        opts.queue_size_frames = Some(2);
        let stream = NativeAudioStream::new(&source, opts).unwrap();
        for value in 1..=5i16 {
            source.capture_frame(&[value; 480], 48_000, 1, 480).unwrap();
        }
        rt.block_on(async {
            assert_eq!(stream.next().await.unwrap().data[0], 4);
            assert_eq!(stream.next().await.unwrap().data[0], 5);
        });
    }

    #[test]
    fn rejects_bad_formats() {
        let rt = runtime();
        let source = source(&rt);
        assert!(NativeAudioStream::new(&source, options(0, 1)).is_err());
        assert!(NativeAudioStream::new(&source, options(48_000, 0)).is_err());
    }
}
