//! Audio sources, captures, tracks and streams through the C ABI.

mod common;

use common::audio::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
};

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
    assert!(wait_stream_eos(stream), "dropping the stream sends EOS");
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
    assert!(wait_stream_eos(stream));
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
