//! Audio sources: where an application's PCM enters the engine.
//!
//! An application hands frames over at whatever pace it produces them; the
//! consumers of a source (an encoder, local streams) want exactly 10 ms every
//! 10 ms. A source with a queue absorbs the difference: captures append to a
//! buffer, and a pump on the audio runtime takes 10 ms at a time, or silence
//! when the buffer runs dry, so a consumer never stalls. A capture completes
//! once the buffer is back at or below the queue size, which is what lets an
//! application write faster than real time without filling memory.
//!
//! A source with a queue size of 0 has no buffer: each capture must be a
//! 10 ms frame and goes to the consumers on the caller's thread, for callers
//! that already pace themselves.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

/// Receives every 10 ms frame a source emits.
pub trait AudioSink: Send + Sync {
    /// Called on the source's thread with interleaved samples; must not block.
    fn on_frame(&self, data: &[i16], sample_rate: u32, num_channels: u32);
}

/// Why a source could not be created or fed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AudioSourceError {
    /// Sample rate or channel count out of range.
    #[error("unsupported audio format: {sample_rate} Hz, {num_channels} channels")]
    Format {
        /// Requested sample rate.
        sample_rate: u32,
        /// Requested channel count.
        num_channels: u32,
    },
    /// The queue is measured in whole 10 ms frames.
    #[error("queue_size_ms must be a multiple of 10, got {0}")]
    QueueSize(u32),
    /// A frame's format differs from the source's.
    #[error(
        "frame is {got_rate} Hz / {got_channels} ch but the source is {rate} Hz / {channels} ch"
    )]
    Mismatch {
        /// The frame's rate.
        got_rate: u32,
        /// The frame's channel count.
        got_channels: u32,
        /// The source's rate.
        rate: u32,
        /// The source's channel count.
        channels: u32,
    },
    /// A source without a queue takes exactly 10 ms per capture.
    #[error(
        "without a queue, a capture must be exactly 10 ms ({expected} samples per channel), got {got}"
    )]
    FrameSize {
        /// Samples per channel in 10 ms.
        expected: u32,
        /// Samples per channel given.
        got: u32,
    },
    /// The data length disagrees with the declared frame size.
    #[error("frame holds {got} samples, expected {expected}")]
    Length {
        /// samples_per_channel × num_channels.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// Only one capture may wait for room in the queue at a time.
    #[error("failed to capture frame: another capture is still waiting for the queue")]
    Busy,
}

/// How a capture ended.
#[derive(Debug)]
pub enum Capture {
    /// The frame was taken and the caller may send the next one now.
    Done,
    /// The frame was taken; the receiver fires when the queue has drained to
    /// its size, which is when the caller should send the next one.
    Waiting(oneshot::Receiver<()>),
}

/// A source of PCM frames, cheap to clone (clones share the source).
#[derive(Clone)]
pub struct NativeAudioSource {
    inner: Arc<Inner>,
}

struct Inner {
    sample_rate: u32,
    num_channels: u32,
    queue_size_ms: u32,
    sinks: RwLock<Vec<(u64, Arc<dyn AudioSink>)>>,
    next_sink: AtomicU64,
    queue: Mutex<Queue>,
    runtime: tokio::runtime::Handle,
}

#[derive(Default)]
struct Queue {
    samples: VecDeque<i16>,
    waiter: Option<oneshot::Sender<()>>,
    pumping: bool,
}

/// Identifies a registered sink, for removing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkId(u64);

impl NativeAudioSource {
    /// Creates a source; the pump runs on `runtime` once data arrives.
    pub fn new(
        sample_rate: u32,
        num_channels: u32,
        queue_size_ms: u32,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, AudioSourceError> {
        if !(8_000..=192_000).contains(&sample_rate)
            || !sample_rate.is_multiple_of(100)
            || !(1..=8).contains(&num_channels)
        {
            return Err(AudioSourceError::Format {
                sample_rate,
                num_channels,
            });
        }
        if !queue_size_ms.is_multiple_of(10) {
            return Err(AudioSourceError::QueueSize(queue_size_ms));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                sample_rate,
                num_channels,
                queue_size_ms,
                sinks: RwLock::new(Vec::new()),
                next_sink: AtomicU64::new(1),
                queue: Mutex::new(Queue::default()),
                runtime,
            }),
        })
    }

    /// The source's sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.inner.sample_rate
    }

    /// The source's channel count.
    pub fn num_channels(&self) -> u32 {
        self.inner.num_channels
    }

    /// The queue size in milliseconds (0: no queue).
    pub fn queue_size_ms(&self) -> u32 {
        self.inner.queue_size_ms
    }

    /// Registers a consumer of this source's frames.
    pub fn add_sink(&self, sink: Arc<dyn AudioSink>) -> SinkId {
        let id = self.inner.next_sink.fetch_add(1, Ordering::Relaxed);
        self.inner.sinks.write().push((id, sink));
        SinkId(id)
    }

    /// Unregisters a consumer.
    pub fn remove_sink(&self, id: SinkId) {
        self.inner.sinks.write().retain(|(sink, _)| *sink != id.0);
    }

    /// Takes a frame of interleaved samples in the source's format.
    pub fn capture_frame(
        &self,
        data: &[i16],
        sample_rate: u32,
        num_channels: u32,
        samples_per_channel: u32,
    ) -> Result<Capture, AudioSourceError> {
        let inner = &self.inner;
        if sample_rate != inner.sample_rate || num_channels != inner.num_channels {
            return Err(AudioSourceError::Mismatch {
                got_rate: sample_rate,
                got_channels: num_channels,
                rate: inner.sample_rate,
                channels: inner.num_channels,
            });
        }
        let expected = samples_per_channel as usize * num_channels as usize;
        if data.len() != expected {
            return Err(AudioSourceError::Length {
                expected,
                got: data.len(),
            });
        }
        if inner.queue_size_ms == 0 {
            let ten_ms = inner.sample_rate / 100;
            if samples_per_channel != ten_ms {
                return Err(AudioSourceError::FrameSize {
                    expected: ten_ms,
                    got: samples_per_channel,
                });
            }
            inner.deliver(data);
            return Ok(Capture::Done);
        }

        let limit = inner.queue_samples();
        let mut queue = inner.queue.lock();
        if queue.waiter.is_some() {
            return Err(AudioSourceError::Busy);
        }
        queue.samples.extend(data);
        let start_pump = !std::mem::replace(&mut queue.pumping, true);
        let result = if queue.samples.len() <= limit {
            Capture::Done
        } else {
            let (tx, rx) = oneshot::channel();
            queue.waiter = Some(tx);
            Capture::Waiting(rx)
        };
        drop(queue);
        if start_pump {
            let weak = Arc::downgrade(&self.inner);
            self.inner.runtime.spawn(pump(weak));
        }
        Ok(result)
    }

    /// Drops everything queued, releasing a waiting capture.
    pub fn clear_buffer(&self) {
        let mut queue = self.inner.queue.lock();
        queue.samples.clear();
        if let Some(waiter) = queue.waiter.take() {
            let _ = waiter.send(());
        }
    }

    /// How much audio is queued, in milliseconds.
    pub fn queued_ms(&self) -> f64 {
        let samples = self.inner.queue.lock().samples.len();
        samples as f64 * 1000.0 / (self.inner.sample_rate as f64 * self.inner.num_channels as f64)
    }
}

impl Inner {
    fn frame_samples(&self) -> usize {
        (self.sample_rate / 100) as usize * self.num_channels as usize
    }

    fn queue_samples(&self) -> usize {
        self.frame_samples() * (self.queue_size_ms / 10) as usize
    }

    fn deliver(&self, data: &[i16]) {
        for (_, sink) in self.sinks.read().iter() {
            sink.on_frame(data, self.sample_rate, self.num_channels);
        }
    }

    /// Moves the next 10 ms out of the queue into `frame`, or silence when
    /// less than that is queued, and releases a waiting capture once the
    /// queue is back within its size.
    fn next_frame(&self, frame: &mut Vec<i16>) {
        let wanted = self.frame_samples();
        frame.clear();
        let mut queue = self.queue.lock();
        if queue.samples.len() >= wanted {
            frame.extend(queue.samples.drain(..wanted));
        } else {
            frame.resize(wanted, 0);
        }
        if queue.samples.len() <= self.queue_samples()
            && let Some(waiter) = queue.waiter.take()
        {
            let _ = waiter.send(());
        }
    }
}

/// Emits 10 ms every 10 ms for as long as the source exists, once the
/// first frame was queued.
async fn pump(source: Weak<Inner>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut frame = Vec::new();
    loop {
        ticker.tick().await;
        let Some(inner) = source.upgrade() else {
            return;
        };
        inner.next_frame(&mut frame);
        inner.deliver(&frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<i16>>);

    impl AudioSink for Collect {
        fn on_frame(&self, data: &[i16], _: u32, _: u32) {
            self.0.lock().extend_from_slice(data);
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn rejects_bad_formats_and_queue_sizes() {
        let rt = runtime();
        let h = rt.handle().clone();
        assert!(NativeAudioSource::new(48_000, 0, 0, h.clone()).is_err());
        assert!(NativeAudioSource::new(44_123, 1, 0, h.clone()).is_err());
        assert_eq!(
            NativeAudioSource::new(48_000, 1, 15, h).err(),
            Some(AudioSourceError::QueueSize(15))
        );
    }

    #[test]
    fn unqueued_source_delivers_synchronously_and_checks_size() {
        let rt = runtime();
        let source = NativeAudioSource::new(48_000, 1, 0, rt.handle().clone()).unwrap();
        let sink = Arc::new(Collect::default());
        source.add_sink(sink.clone());
        let frame = vec![7i16; 480];
        assert!(matches!(
            source.capture_frame(&frame, 48_000, 1, 480),
            Ok(Capture::Done)
        ));
        assert_eq!(sink.0.lock().len(), 480);
        assert!(matches!(
            source.capture_frame(&frame[..240], 48_000, 1, 240),
            Err(AudioSourceError::FrameSize { .. })
        ));
        assert!(matches!(
            source.capture_frame(&frame, 16_000, 1, 480),
            Err(AudioSourceError::Mismatch { .. })
        ));
    }

    #[test]
    fn queued_source_paces_and_releases_waiters() {
        let rt = runtime();
        let source = NativeAudioSource::new(48_000, 1, 20, rt.handle().clone()).unwrap();
        let sink = Arc::new(Collect::default());
        source.add_sink(sink.clone());
        let frame = vec![1i16; 480];
        // Two frames fit in a 20 ms queue; the third must wait for the pump.
        assert!(matches!(
            source.capture_frame(&frame, 48_000, 1, 480),
            Ok(Capture::Done)
        ));
        assert!(matches!(
            source.capture_frame(&frame, 48_000, 1, 480),
            Ok(Capture::Done)
        ));
        let Ok(Capture::Waiting(rx)) = source.capture_frame(&frame, 48_000, 1, 480) else {
            panic!("third capture should wait");
        };
        assert_eq!(
            source.capture_frame(&frame, 48_000, 1, 480).err(),
            Some(AudioSourceError::Busy)
        );
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(2), rx).await })
            .expect("waiter released")
            .unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let got = sink.0.lock().clone();
        let ones = got.iter().filter(|&&s| s == 1).count();
        assert_eq!(ones, 3 * 480, "every captured sample is emitted once");
        assert!(got.len() > ones, "silence follows once the queue runs dry");
    }

    #[test]
    fn clear_empties_the_queue() {
        let rt = runtime();
        let source = NativeAudioSource::new(48_000, 2, 1000, rt.handle().clone()).unwrap();
        let frame = vec![1i16; 960];
        for _ in 0..10 {
            source.capture_frame(&frame, 48_000, 2, 480).unwrap();
        }
        assert!(source.queued_ms() > 50.0);
        source.clear_buffer();
        assert_eq!(source.queued_ms(), 0.0);
    }
}
