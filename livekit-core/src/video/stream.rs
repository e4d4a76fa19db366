//! Video streams: a consumer's queue of frames from one source.
//!
//! Video is only worth showing fresh, so a bounded stream drops the oldest
//! frames, and a stream bounded to one frame always holds the latest.

use std::sync::Arc;

use super::frame::VideoFrame;
use super::source::{NativeVideoSource, VideoSink, VideoSinkId};
use crate::queue::FrameQueue;

/// A stream of frames from one source, ending when closed or dropped.
pub struct NativeVideoStream {
    queue: Arc<FrameQueue<VideoFrame>>,
    source: NativeVideoSource,
    sink: VideoSinkId,
}

impl NativeVideoStream {
    /// Starts receiving; `queue_size_frames` of `None` or 0 keeps every frame.
    pub fn new(source: &NativeVideoSource, queue_size_frames: Option<u32>) -> Self {
        let queue = Arc::new(FrameQueue::new(queue_size_frames.map(|n| n as usize)));
        let sink = source.add_sink(queue.clone());
        Self {
            queue,
            source: source.clone(),
            sink,
        }
    }

    /// The next frame, or `None` once the stream is closed.
    pub async fn next(&self) -> Option<VideoFrame> {
        self.queue.pop().await
    }

    /// Stops receiving and discards unread frames.
    pub fn close(&self) {
        self.source.remove_sink(self.sink);
        self.queue.close();
    }
}

impl Drop for NativeVideoStream {
    fn drop(&mut self) {
        self.close();
    }
}

impl VideoSink for FrameQueue<VideoFrame> {
    fn on_frame(&self, frame: &VideoFrame) {
        self.push([frame.clone()]);
    }
}
