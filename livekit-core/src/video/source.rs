//! Video sources: where an application's frames enter the engine.
//!
//! Capturing converts the frame to a format encoders take (I420 for RGB
//! input) once, at the source, so that every consumer shares the result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::frame::VideoFrame;

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
}

impl NativeVideoSource {
    /// Creates a source with a declared resolution (0×0: that of the first
    /// frame), which publishing uses to plan layers.
    pub fn new(width: u32, height: u32, is_screencast: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                width,
                height,
                is_screencast,
                sinks: RwLock::new(Vec::new()),
                next_sink: AtomicU64::new(1),
            }),
        }
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
        for (_, sink) in self.inner.sinks.read().iter() {
            sink.on_frame(frame);
        }
    }
}
