//! The send path of a published audio track: a sink on the track's source
//! encodes each 10 ms frame as it is emitted, and a task hands the packets
//! to the transport.
//!
//! Encoding happens on the source's thread because it is short (one Opus
//! frame every other call) and keeps the frames in order without a queue
//! of PCM; the transport's send is async, so packets cross to a task
//! through a small bounded channel. A full channel means the network side
//! stalled for over a second, and dropping packets then is what a live
//! stream wants.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::audio::codec::{AudioEncodePipeline, EncodeOptions, EncodedFrame};
use crate::audio::source::{AudioSink, NativeAudioSource, SinkId};
use crate::track::LocalAudioTrack;
use crate::transport::AudioSender;

/// Packets allowed in flight between the encoder and the send task: one
/// second of 20 ms frames.
const SEND_QUEUE: usize = 50;

/// Stops the encoder when dropped.
pub(super) struct EncoderHandle {
    source: NativeAudioSource,
    sink: SinkId,
    task: tokio::task::AbortHandle,
}

impl Drop for EncoderHandle {
    fn drop(&mut self) {
        self.source.remove_sink(self.sink);
        self.task.abort();
    }
}

/// Starts encoding `track`'s source into `sender`.
pub(super) fn start(
    track: Arc<LocalAudioTrack>,
    sender: AudioSender,
    options: EncodeOptions,
) -> Result<EncoderHandle, crate::audio::codec::CodecError> {
    let pipeline = AudioEncodePipeline::new(options)?;
    let (tx, mut rx) = mpsc::channel::<EncodedFrame>(SEND_QUEUE);
    let source = track.source().clone();
    let sink = source.add_sink(Arc::new(EncoderSink {
        track,
        pipeline: Mutex::new(pipeline),
        tx,
        was_muted: AtomicBool::new(false),
    }));
    let task = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if let Err(err) = sender
                .send_opus(
                    frame.payload,
                    frame.timestamp,
                    frame.marker,
                    frame.level,
                    frame.voice,
                )
                .await
            {
                log::debug!("audio packet not sent: {err}");
            }
        }
    })
    .abort_handle();
    Ok(EncoderHandle { source, sink, task })
}

struct EncoderSink {
    track: Arc<LocalAudioTrack>,
    pipeline: Mutex<AudioEncodePipeline>,
    tx: mpsc::Sender<EncodedFrame>,
    /// Set while muted, so the first frame after unmuting restarts the
    /// encoder cleanly.
    was_muted: AtomicBool,
}

impl AudioSink for EncoderSink {
    fn on_frame(&self, data: &[i16], sample_rate: u32, num_channels: u32) {
        if self.track.common().is_muted() {
            self.was_muted.store(true, Ordering::Relaxed);
            return;
        }
        let mut pipeline = self.pipeline.lock();
        if self.was_muted.swap(false, Ordering::Relaxed) {
            pipeline.reset();
        }
        if let Some(frame) = pipeline.push_10ms(data, sample_rate, num_channels) {
            let _ = self.tx.try_send(frame);
        }
    }
}
