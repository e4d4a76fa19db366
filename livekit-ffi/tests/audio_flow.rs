//! Audio sources, captures, tracks and streams through the C ABI.

mod common;

use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
};

fn new_source(queue_size_ms: u32) -> u64 {
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

fn capture(source: u64, samples: &[i16], rate: u32) -> Option<String> {
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

fn audio_track(source: u64) -> u64 {
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

fn new_stream(track: u64, rate: u32, frame_ms: Option<u32>) -> u64 {
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

fn stream_frames(stream: u64) -> Vec<proto::OwnedAudioFrameBuffer> {
    collect_events(|m| match m {
        Ev::AudioStreamEvent(e) if e.stream_handle == stream => match &e.message {
            Some(proto::audio_stream_event::Message::FrameReceived(f)) => Some(f.frame),
            _ => None,
        },
        _ => None,
    })
}

fn wait_eos(stream: u64) -> bool {
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

#[test]
fn unqueued_capture_reaches_a_local_stream_resampled() {
    let source = new_source(0);
    let track = audio_track(source);
    let stream = new_stream(track, 16_000, Some(20));
    let tone = sine(440.0, 48_000, 1, 48_000, 0.5);
    for chunk in tone.chunks(480) {
        assert_eq!(capture(source, chunk, 48_000), None);
    }
    // One second in 20 ms frames; the forwarding task may lag on a busy
    // machine, so wait for them rather than for a fixed time.
    let deadline = std::time::Instant::now() + 5 * SECOND;
    while stream_frames(stream).len() < 50 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let frames = stream_frames(stream);
    assert_eq!(frames.len(), 50, "one second in 20 ms frames");
    let mut samples = Vec::new();
    for frame in &frames {
        assert_eq!(frame.info.sample_rate, 16_000);
        assert_eq!(frame.info.samples_per_channel, 320);
        samples.extend(take_audio(frame));
    }
    // 440 Hz crosses zero upward 440 times a second.
    let crossings = samples[1600..]
        .windows(2)
        .filter(|w| w[0] < 0 && w[1] >= 0)
        .count() as f64;
    let seconds = (samples.len() - 1600) as f64 / 16_000.0;
    assert!(
        (crossings / seconds - 440.0).abs() < 5.0,
        "{crossings} in {seconds}s"
    );

    drop_handle(stream);
    assert!(wait_eos(stream), "dropping the stream sends EOS");
    drop_handle(track);
    drop_handle(source);
    assert_no_panic();
}

#[test]
fn dropping_the_track_ends_its_streams() {
    let source = new_source(0);
    let track = audio_track(source);
    let stream = new_stream(track, 48_000, None);
    drop_handle(track);
    assert!(wait_eos(stream));
    drop_handle(stream);
    drop_handle(source);
}

#[test]
fn queued_capture_paces_and_reports_mismatches() {
    let source = new_source(100);
    let frame = vec![100i16; 480];
    let start = std::time::Instant::now();
    for _ in 0..30 {
        assert_eq!(capture(source, &frame, 48_000), None);
    }
    // 300 ms captured into a 100 ms queue: about 200 ms must have played out.
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    let error = capture(source, &frame, 16_000).expect("a rate mismatch is an error");
    assert!(error.contains("48000"), "{error}");
    assert!(matches!(
        request(Req::ClearAudioBuffer(proto::ClearAudioBufferRequest {
            source_handle: source
        })),
        Res::ClearAudioBuffer(_)
    ));
    drop_handle(source);
    assert_no_panic();
}

#[test]
fn request_async_id_is_honoured() {
    let source = new_source(0);
    let frame = vec![0i16; 480];
    let response = request(Req::CaptureAudioFrame(proto::CaptureAudioFrameRequest {
        source_handle: source,
        buffer: proto::AudioFrameBufferInfo {
            data_ptr: frame.as_ptr() as u64,
            num_channels: 1,
            sample_rate: 48_000,
            samples_per_channel: 480,
        },
        request_async_id: Some(777_000),
    }));
    assert!(matches!(response, Res::CaptureAudioFrame(r) if r.async_id == 777_000));
    assert!(
        wait_event(SECOND, |m| match m {
            Ev::CaptureAudioFrame(cb) if cb.async_id == 777_000 => Some(()),
            _ => None,
        })
        .is_some()
    );
    drop_handle(source);
}

#[test]
fn mute_and_stats_on_an_unpublished_track() {
    let source = new_source(0);
    let track = audio_track(source);
    let muted = |mute| match request(Req::LocalTrackMute(proto::LocalTrackMuteRequest {
        track_handle: track,
        mute,
    })) {
        Res::LocalTrackMute(r) => r.muted,
        other => panic!("unexpected {other:?}"),
    };
    assert!(muted(true));
    assert!(!muted(false));
    let async_id = match request(Req::GetStats(proto::GetStatsRequest {
        track_handle: track,
        request_async_id: None,
    })) {
        Res::GetStats(r) => r.async_id,
        other => panic!("unexpected {other:?}"),
    };
    let error = wait_event(SECOND, |m| match m {
        Ev::GetStats(cb) if cb.async_id == async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("stats callback");
    assert!(error.is_some());
    drop_handle(track);
    drop_handle(source);
}
