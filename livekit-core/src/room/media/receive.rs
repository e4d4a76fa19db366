//! The receive path of a subscribed audio track: packets go into the
//! decode pipeline as they arrive, and a 10 ms timer plays out of it into
//! the track's source.
//!
//! The timer is what gives consumers a steady cadence: libwebrtc's playout
//! pulls 10 ms every 10 ms whether or not the publisher sends (DTX sends
//! nothing in silence), and voice agents detect the end of speech from the
//! silent frames that follow it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

use crate::audio::codec::{AudioDecodePipeline, ReceivedPacket};
use crate::track::{RemoteAudioTrack, RemoteTrackStats};
use crate::transport::RemoteTrack;

/// Output rate of the decoder: Opus always decodes at 48 kHz here.
pub(super) const PLAYOUT_RATE: u32 = 48_000;

/// How often the statistics on the track are refreshed, in ticks.
const STATS_EVERY: u32 = 50;

/// Receives `remote` into `track` until the remote track ends; returns
/// then, and the caller reports the end of the subscription.
pub(super) async fn run(track: Arc<RemoteAudioTrack>, remote: RemoteTrack, channels: u32) {
    let mut pipeline = match AudioDecodePipeline::new(channels) {
        Ok(pipeline) => pipeline,
        Err(err) => {
            log::error!("cannot decode track {}: {err}", track.common().sid());
            return;
        }
    };
    let samples_per_channel = PLAYOUT_RATE / 100;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    // After a stall, catch up at once rather than drift: the consumer
    // expects 100 frames per second on average.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut ticks = 0u32;
    let mut bytes_received = 0u64;
    loop {
        tokio::select! {
            packet = remote.recv() => {
                let Some(packet) = packet else { break };
                bytes_received += packet.payload.len() as u64;
                pipeline.push(
                    ReceivedPacket {
                        sequence: packet.sequence,
                        timestamp: packet.timestamp,
                        payload: packet.payload,
                        redundancy: packet.redundancy,
                    },
                    Instant::now(),
                );
            }
            _ = ticker.tick() => {
                let pcm = pipeline.pull_10ms(Instant::now());
                if track.is_enabled() {
                    let _ = track
                        .source()
                        .capture_frame(pcm, PLAYOUT_RATE, channels, samples_per_channel);
                }
                ticks += 1;
                if ticks.is_multiple_of(STATS_EVERY) {
                    track.set_stats(stats_of(&pipeline, bytes_received));
                }
            }
        }
    }
    track.set_stats(stats_of(&pipeline, bytes_received));
}

fn stats_of(pipeline: &AudioDecodePipeline, bytes_received: u64) -> RemoteTrackStats {
    let s = pipeline.stats();
    RemoteTrackStats {
        packets_received: s.packets_received,
        bytes_received,
        packets_lost: s.packets_lost,
        jitter: s.jitter_ms / 1000.0,
        total_samples_received: s.total_samples_received,
        concealed_samples: s.concealed_samples,
        concealment_events: s.concealment_events,
        jitter_buffer_delay: s.jitter_buffer_delay_s,
        jitter_buffer_emitted_count: s.jitter_buffer_emitted_count,
        jitter_buffer_target_delay: s.target_delay_ms / 1000.0,
        total_audio_energy: s.total_audio_energy,
        total_samples_duration: s.total_samples_duration_s,
        audio_level: s.audio_level,
    }
}
