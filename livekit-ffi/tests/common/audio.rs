//! Audio helpers over the C ABI: sources, captures, tracks and streams.

use super::*;
use livekit_ffi::proto::ffi_event::Message as Ev;

/// A native 48 kHz mono source with the given queue.
pub fn new_source(queue_size_ms: u32) -> u64 {
    match request(Req::NewAudioSource(proto::NewAudioSourceRequest {
        r#type: proto::AudioSourceType::AudioSourceNative as i32,
        options: None,
        sample_rate: Some(48_000),
        num_channels: Some(1),
        queue_size_ms: Some(queue_size_ms),
        platform_audio_handle: None,
    })) {
        Res::NewAudioSource(r) => r.source.handle.id,
        other => panic!("unexpected {other:?}"),
    }
}

/// Captures `samples` (mono) and waits for the callback; returns its error.
pub fn capture(source: u64, samples: &[i16], rate: u32) -> Option<String> {
    let async_id = match request(Req::CaptureAudioFrame(proto::CaptureAudioFrameRequest {
        source_handle: source,
        buffer: proto::AudioFrameBufferInfo {
            data_ptr: samples.as_ptr() as u64,
            num_channels: 1,
            sample_rate: rate,
            samples_per_channel: samples.len() as u32,
        },
        request_async_id: None,
    })) {
        Res::CaptureAudioFrame(r) => r.async_id,
        other => panic!("unexpected {other:?}"),
    };
    assert_ne!(async_id, 0);
    wait_event(5 * SECOND, |m| match m {
        Ev::CaptureAudioFrame(cb) if cb.async_id == async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("capture callback")
}

/// A local audio track named "mic" over `source`.
pub fn audio_track(source: u64) -> u64 {
    match request(Req::CreateAudioTrack(proto::CreateAudioTrackRequest {
        name: "mic".into(),
        source_handle: source,
    })) {
        Res::CreateAudioTrack(r) => {
            assert_eq!(r.track.info.kind, proto::TrackKind::KindAudio as i32);
            assert!(!r.track.info.remote);
            r.track.handle.id
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A mono stream on `track` at `rate`.
pub fn new_stream(track: u64, rate: u32, frame_ms: Option<u32>) -> u64 {
    match request(Req::NewAudioStream(proto::NewAudioStreamRequest {
        track_handle: track,
        r#type: proto::AudioStreamType::AudioStreamNative as i32,
        sample_rate: Some(rate),
        num_channels: Some(1),
        audio_filter_module_id: None,
        audio_filter_options: None,
        frame_size_ms: frame_ms,
        queue_size_frames: None,
    })) {
        Res::NewAudioStream(r) => r.stream.handle.id,
        other => panic!("unexpected {other:?}"),
    }
}

/// Every frame `stream` delivered so far.
pub fn stream_frames(stream: u64) -> Vec<proto::OwnedAudioFrameBuffer> {
    collect_events(|m| match m {
        Ev::AudioStreamEvent(e) if e.stream_handle == stream => match &e.message {
            Some(proto::audio_stream_event::Message::FrameReceived(f)) => Some(f.frame),
            _ => None,
        },
        _ => None,
    })
}

/// Waits up to 5 s for the EOS of `stream`.
pub fn wait_stream_eos(stream: u64) -> bool {
    wait_event(5 * SECOND, |m| match m {
        Ev::AudioStreamEvent(e)
            if e.stream_handle == stream
                && matches!(e.message, Some(proto::audio_stream_event::Message::Eos(_))) =>
        {
            Some(())
        }
        _ => None,
    })
    .is_some()
}

/// Captures a 440 Hz sine (0.3 of full scale, 48 kHz mono) into `source`
/// in 10 ms frames until stopped, paced by the source's queue.
pub fn feed_sine(
    source: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let all = sine(440.0, 48_000, 1, 48_000, 0.3);
        let mut at = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let frame = &all[at..at + 480];
            at = (at + 480) % all.len();
            if let Some(error) = capture(source, frame, 48_000) {
                panic!("capture failed: {error}");
            }
        }
    })
}
