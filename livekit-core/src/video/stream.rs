//! Video streams: a consumer's queue of frames from one source.
//!
//! Video is only worth showing fresh, so a bounded stream drops the oldest
//! frames, and a stream bounded to one frame always holds the latest.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::frame::VideoFrame;
use super::source::{NativeVideoSource, VideoSink, VideoSinkId};

/// A stream of frames from one source, ending when closed or dropped.
pub struct NativeVideoStream {
    shared: Arc<Shared>,
    source: NativeVideoSource,
    sink: VideoSinkId,
}

struct Shared {
    limit: Option<usize>,
    state: Mutex<State>,
    ready: Notify,
}

struct State {
    frames: VecDeque<VideoFrame>,
    closed: bool,
}

impl NativeVideoStream {
    /// Starts receiving; `queue_size_frames` of `None` or 0 keeps every frame.
    pub fn new(source: &NativeVideoSource, queue_size_frames: Option<u32>) -> Self {
        let shared = Arc::new(Shared {
            limit: queue_size_frames.filter(|&n| n > 0).map(|n| n as usize),
            state: Mutex::new(State {
                frames: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
        });
        let sink = source.add_sink(shared.clone());
        Self {
            shared,
            source: source.clone(),
            sink,
        }
    }

    /// The next frame, or `None` once the stream is closed.
    pub async fn next(&self) -> Option<VideoFrame> {
        loop {
            {
                let mut state = self.shared.state.lock();
                if let Some(frame) = state.frames.pop_front() {
                    return Some(frame);
                }
                if state.closed {
                    return None;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// Stops receiving and discards unread frames: a consumer that closes
    /// a live stream wants it to end now, not after the backlog.
    pub fn close(&self) {
        self.source.remove_sink(self.sink);
        let mut state = self.shared.state.lock();
        state.closed = true;
        state.frames.clear();
        drop(state);
        self.shared.ready.notify_one();
    }
}

impl Drop for NativeVideoStream {
    fn drop(&mut self) {
        self.close();
    }
}

impl VideoSink for Shared {
    fn on_frame(&self, frame: &VideoFrame) {
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        state.frames.push_back(frame.clone());
        if let Some(limit) = self.limit {
            while state.frames.len() > limit {
                state.frames.pop_front();
            }
        }
        drop(state);
        self.ready.notify_one();
    }
}
