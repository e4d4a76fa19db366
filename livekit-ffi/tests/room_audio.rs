//! Audio tracks in rooms on a real livekit-server through the C ABI:
//! publishing with the callback before `LocalTrackPublished`, a sine that
//! reaches the other participant at its frequency and level, mute on both
//! sides, and unpublish with `LocalTrackUnpublished` before its callback
//! and the remote stream ending.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::audio::*;
use common::room::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};

const RATE: u32 = 48_000;
const AMPLITUDE: f64 = 0.3;

fn start_publish_track(local: u64, track: u64) -> u64 {
    match request(Req::PublishTrack(proto::PublishTrackRequest {
        local_participant_handle: local,
        track_handle: track,
        options: proto::TrackPublishOptions {
            source: Some(proto::TrackSource::SourceMicrophone as i32),
            ..Default::default()
        },
        request_async_id: None,
    })) {
        Res::PublishTrack(r) => r.async_id,
        other => panic!("unexpected {other:?}"),
    }
}

/// The publication the callback of `async_id` carries.
fn published(async_id: u64) -> proto::OwnedTrackPublication {
    let message = wait_event(WAIT, |m| match m {
        Ev::PublishTrack(cb) if cb.async_id == async_id => cb.message.clone(),
        _ => None,
    })
    .expect("a PublishTrack callback");
    match message {
        proto::publish_track_callback::Message::Publication(p) => p,
        proto::publish_track_callback::Message::Error(e) => panic!("publish failed: {e}"),
    }
}

/// Waits for `room`'s TrackSubscribed; returns the remote track.
fn subscribed(room: u64) -> proto::OwnedTrack {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::TrackSubscribed(t) => Some(t.track.clone()),
        _ => None,
    })
    .expect("a TrackSubscribed event")
}

/// Samples `stream` delivered since the last call.
fn drain(stream: u64, seen: &mut usize) -> Vec<i16> {
    let frames = stream_frames(stream);
    let fresh: Vec<i16> = frames[*seen..].iter().flat_map(take_audio).collect();
    *seen = frames.len();
    fresh
}

/// Frequency by zero crossings, and RMS relative to full scale.
fn frequency_and_rms(samples: &[i16]) -> (f64, f64) {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    let seconds = samples.len() as f64 / RATE as f64;
    let rms = (samples
        .iter()
        .map(|&s| (s as f64 / 32768.0).powi(2))
        .sum::<f64>()
        / samples.len().max(1) as f64)
        .sqrt();
    (crossings as f64 / 2.0 / seconds, rms)
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-9).log10()
}

/// Whether `room`'s events so far have a mute change of `sid`.
fn saw_mute(room: u64, sid: &str, muted: bool) -> bool {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::TrackMuted(t) if muted && t.track_sid == sid => Some(()),
        RoomEv::TrackUnmuted(t) if !muted && t.track_sid == sid => Some(()),
        _ => None,
    })
    .is_some()
}

#[test]
fn a_published_sine_is_heard_muted_and_unpublished() {
    let server = TestServer::start();
    let name = "audio-sine";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);

    let source = new_source(100);
    let track = audio_track(source);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_sine(source, stop.clone());

    // The callback, then LocalTrackPublished naming the same SID.
    let async_id = start_publish_track(alice.local, track);
    let publication = published(async_id);
    let sid = publication.info.sid.clone();
    assert!(sid.starts_with("TR_"), "server SID: {sid}");
    assert!(!publication.info.remote);
    wait_room_event(alice.room, WAIT, |m| match m {
        RoomEv::LocalTrackPublished(p) if p.track_sid == sid => Some(()),
        _ => None,
    })
    .expect("LocalTrackPublished");
    let order: Vec<&str> = collect_events(|m| match m {
        Ev::PublishTrack(cb) if cb.async_id == async_id => Some("callback"),
        Ev::RoomEvent(e) if e.room_handle == alice.room => match &e.message {
            Some(RoomEv::LocalTrackPublished(p)) if p.track_sid == sid => Some("event"),
            _ => None,
        },
        _ => None,
    });
    assert_eq!(order, ["callback", "event"]);

    // Bob hears it.
    let remote = subscribed(bob.room);
    assert_eq!(remote.info.sid, sid);
    assert!(remote.info.remote);
    let stream = new_stream(remote.handle.id, RATE, None);
    let mut seen = 0;
    std::thread::sleep(Duration::from_millis(1500));
    drain(stream, &mut seen);
    std::thread::sleep(Duration::from_millis(1500));
    let heard = drain(stream, &mut seen);
    assert!(
        heard.len() >= RATE as usize,
        "1.5 s of audio: {}",
        heard.len()
    );
    let (freq, rms) = frequency_and_rms(&heard);
    assert!((freq - 440.0).abs() < 5.0, "frequency {freq:.1} Hz");
    let sent = AMPLITUDE / 2f64.sqrt();
    assert!(
        (db(rms) - db(sent)).abs() < 3.0,
        "level {:.1} dB vs {:.1} dB",
        db(rms),
        db(sent)
    );

    // Session statistics carry the audio: Alice's publisher sends it.
    let Res::GetSessionStats(r) = request(Req::GetSessionStats(proto::GetSessionStatsRequest {
        room_handle: alice.room,
        request_async_id: None,
    })) else {
        panic!("GetSessionStats answered with another response")
    };
    let stats = wait_event(WAIT, |m| match m {
        Ev::GetSessionStats(cb) if cb.async_id == r.async_id => cb.message.clone(),
        _ => None,
    })
    .expect("a GetSessionStats callback");
    let proto::get_session_stats_callback::Message::Result(stats) = stats else {
        panic!("session stats failed: {stats:?}")
    };
    let sent: u64 = stats
        .publisher_stats
        .iter()
        .filter_map(|s| match &s.stats {
            Some(proto::rtc_stats::Stats::OutboundRtp(o)) => Some(o.sent.packets_sent),
            _ => None,
        })
        .sum();
    assert!(sent > 0, "publisher outbound-rtp packets: {sent}");

    // Mute: both rooms report it, and Bob hears silence.
    let Res::LocalTrackMute(r) = request(Req::LocalTrackMute(proto::LocalTrackMuteRequest {
        track_handle: track,
        mute: true,
    })) else {
        panic!("LocalTrackMute answered with another response")
    };
    assert!(r.muted);
    assert!(saw_mute(alice.room, &sid, true), "alice's TrackMuted");
    assert!(saw_mute(bob.room, &sid, true), "bob's TrackMuted");
    std::thread::sleep(Duration::from_millis(800));
    drain(stream, &mut seen);
    std::thread::sleep(Duration::from_millis(500));
    let (_, muted_rms) = frequency_and_rms(&drain(stream, &mut seen));
    assert!(db(muted_rms) < -50.0, "muted level {:.1} dB", db(muted_rms));
    let Res::LocalTrackMute(_) = request(Req::LocalTrackMute(proto::LocalTrackMuteRequest {
        track_handle: track,
        mute: false,
    })) else {
        panic!("LocalTrackMute answered with another response")
    };
    assert!(saw_mute(bob.room, &sid, false), "bob's TrackUnmuted");

    // Unpublish: the event, then the callback; Bob's stream ends.
    let Res::UnpublishTrack(r) = request(Req::UnpublishTrack(proto::UnpublishTrackRequest {
        local_participant_handle: alice.local,
        track_sid: sid.clone(),
        stop_on_unpublish: true,
        request_async_id: None,
    })) else {
        panic!("UnpublishTrack answered with another response")
    };
    let unpublish_id = r.async_id;
    let error = wait_event(WAIT, |m| match m {
        Ev::UnpublishTrack(cb) if cb.async_id == unpublish_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("an UnpublishTrack callback");
    assert_eq!(error, None);
    let order: Vec<&str> = collect_events(|m| match m {
        Ev::UnpublishTrack(cb) if cb.async_id == unpublish_id => Some("callback"),
        Ev::RoomEvent(e) if e.room_handle == alice.room => match &e.message {
            Some(RoomEv::LocalTrackUnpublished(p)) if p.publication_sid == sid => Some("event"),
            _ => None,
        },
        _ => None,
    });
    assert_eq!(order, ["event", "callback"]);
    let unsubscribed = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::TrackUnsubscribed(t) if t.track_sid == sid => Some(()),
        _ => None,
    });
    assert!(unsubscribed.is_some(), "bob's TrackUnsubscribed");
    assert!(wait_stream_eos(stream), "bob's stream ends");

    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    leave(alice.room);
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn publishing_twice_or_a_remote_track_fails_cleanly() {
    let server = TestServer::start();
    let name = "audio-twice";
    let alice = join(&server, "alice", name);
    let source = new_source(0);
    let track = audio_track(source);

    let first = start_publish_track(alice.local, track);
    published(first);
    let second = start_publish_track(alice.local, track);
    let message = wait_event(WAIT, |m| match m {
        Ev::PublishTrack(cb) if cb.async_id == second => cb.message.clone(),
        _ => None,
    });
    assert!(
        matches!(
            message,
            Some(proto::publish_track_callback::Message::Error(_))
        ),
        "second publish of one track: {message:?}"
    );

    // A handle of another type is refused in the response.
    let response = try_request(Req::PublishTrack(proto::PublishTrackRequest {
        local_participant_handle: alice.local,
        track_handle: source,
        options: Default::default(),
        request_async_id: None,
    }));
    assert!(response.is_none(), "a source handle is not a track");

    // Unpublishing an unknown SID answers with an error in the callback.
    let Res::UnpublishTrack(r) = request(Req::UnpublishTrack(proto::UnpublishTrackRequest {
        local_participant_handle: alice.local,
        track_sid: "TR_nope".into(),
        stop_on_unpublish: false,
        request_async_id: None,
    })) else {
        panic!("UnpublishTrack answered with another response")
    };
    let error = wait_event(WAIT, |m| match m {
        Ev::UnpublishTrack(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("an UnpublishTrack callback");
    assert!(error.is_some());

    let started = Instant::now();
    leave(alice.room);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_no_panic();
}
