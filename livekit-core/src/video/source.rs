//! Video sources: where an application's frames enter the engine.
//!
//! Capturing converts the frame to a format encoders take (I420 for RGB
//! input) once, at the source, so that every consumer shares the result.
//!
//! Until the application's first frame, a source with a declared size sends
//! black frames at 10 fps, so that a track published before the camera starts
//! is already decodable on the other side.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::buffer::VideoFrameBuffer;
use super::frame::{FrameMetadata, VideoFrame, VideoRotation};

/// Receives every frame a source emits.
pub trait VideoSink: Send + Sync {
    /// Called on the capturing thread; must not block.
    fn on_frame(&self, frame: &VideoFrame);
}

/// Identifies a registered sink, for removing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSinkId(u64);

/// A source of video frames, cheap to clone (clones share the source).
#[derive(Clone)]
pub struct NativeVideoSource {
    inner: Arc<Inner>,
}

struct Inner {
    width: u32,
    height: u32,
    is_screencast: bool,
    sinks: RwLock<Vec<(u64, Arc<dyn VideoSink>)>>,
    next_sink: AtomicU64,
    captured: AtomicBool,
}

/// How often a source repeats its black frame until real frames arrive.
const IDLE_FRAME_INTERVAL: Duration = Duration::from_millis(100);

impl NativeVideoSource {
    /// Creates a source with a declared resolution (0×0: that of the first
    /// frame), which publishing uses to plan layers. The idle black frames
    /// run on `runtime`.
    pub fn new(
        width: u32,
        height: u32,
        is_screencast: bool,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let inner = Arc::new(Inner {
            width,
            height,
            is_screencast,
            sinks: RwLock::new(Vec::new()),
            next_sink: AtomicU64::new(1),
            captured: AtomicBool::new(false),
        });
        if width > 0 && height > 0 {
            runtime.spawn(idle_frames(Arc::downgrade(&inner)));
        }
        Self { inner }
    }

    /// The declared resolution.
    pub fn resolution(&self) -> (u32, u32) {
        (self.inner.width, self.inner.height)
    }

    /// Whether the source is a screen share.
    pub fn is_screencast(&self) -> bool {
        self.inner.is_screencast
    }

    /// Registers a consumer.
    pub fn add_sink(&self, sink: Arc<dyn VideoSink>) -> VideoSinkId {
        let id = self.inner.next_sink.fetch_add(1, Ordering::Relaxed);
        self.inner.sinks.write().push((id, sink));
        VideoSinkId(id)
    }

    /// Unregisters a consumer.
    pub fn remove_sink(&self, id: VideoSinkId) {
        self.inner.sinks.write().retain(|(sink, _)| *sink != id.0);
    }

    /// Hands a frame, already in an encodable format, to every consumer.
    pub fn capture_frame(&self, frame: &VideoFrame) {
        self.inner.captured.store(true, Ordering::Relaxed);
        self.inner.deliver(frame);
    }
}

impl Inner {
    fn deliver(&self, frame: &VideoFrame) {
        for (_, sink) in self.sinks.read().iter() {
            sink.on_frame(frame);
        }
    }
}

/// Sends a black frame every [`IDLE_FRAME_INTERVAL`] until the first real
/// frame, or until the source is gone. The frame is made on first use, so a
/// source nobody watches costs no frame memory.
async fn idle_frames(source: Weak<Inner>) {
    let start = Instant::now();
    let mut black: Option<Arc<VideoFrameBuffer>> = None;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + IDLE_FRAME_INTERVAL,
        IDLE_FRAME_INTERVAL,
    );
    loop {
        ticker.tick().await;
        let Some(inner) = source.upgrade() else {
            return;
        };
        if inner.captured.load(Ordering::Relaxed) {
            return;
        }
        if inner.sinks.read().is_empty() {
            continue;
        }
        if black.is_none() {
            match VideoFrameBuffer::black_i420(inner.width, inner.height) {
                Ok(frame) => black = Some(Arc::new(frame)),
                Err(err) => {
                    log::warn!("no idle frames for this video source: {err}");
                    return;
                }
            }
        }
        let Some(buffer) = black.clone() else { return };
        inner.deliver(&VideoFrame {
            buffer,
            timestamp_us: start.elapsed().as_micros() as i64,
            rotation: VideoRotation::Deg0,
            metadata: FrameMetadata::default(),
        });
    }
}
