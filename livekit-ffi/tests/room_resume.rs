//! Resuming a room on a real livekit-server through the C ABI: a lost
//! signal connection (SimulateScenario SIGNAL_RECONNECT) gives Reconnecting
//! then Reconnected with their connection states, and afterwards data flows
//! both ways and a published sine keeps arriving, whether the publisher or
//! the subscriber was the one that resumed. Also: the server dropping the
//! signal again during the resume only costs an attempt, and a server that
//! has forgotten us (node failure) gets a full reconnect: a new join, the
//! other participants announced again and our track published again.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::audio::*;
use common::room::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};

const RATE: u32 = 48_000;

/// Resumes take a few seconds (a 1 s settle, ICE restarts); retries more.
const RESUME_WAIT: Duration = Duration::from_secs(60);

/// Sends SimulateScenarioRequest and waits for its callback's error.
fn simulate(room: u64, scenario: proto::SimulateScenarioKind) -> Option<String> {
    let Res::SimulateScenario(r) = request(Req::SimulateScenario(proto::SimulateScenarioRequest {
        room_handle: room,
        scenario: scenario as i32,
        request_async_id: None,
    })) else {
        panic!("SimulateScenario answered with another response")
    };
    let async_id = r.async_id;
    wait_event(WAIT, |m| match m {
        Ev::SimulateScenario(cb) if cb.async_id == async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("a SimulateScenario callback")
}

/// The connection-related events of `room`, as short labels, in order.
fn connection_events(room: u64) -> Vec<String> {
    room_events(room)
        .iter()
        .filter_map(connection_label)
        .collect()
}

fn connection_label(m: &RoomEv) -> Option<String> {
    Some(match m {
        RoomEv::ConnectionStateChanged(c) => {
            let state = proto::ConnectionState::try_from(c.state)
                .map(|s| s.as_str_name().to_owned())
                .unwrap_or_else(|_| c.state.to_string());
            format!("state:{state}")
        }
        RoomEv::Reconnecting(_) => "reconnecting".into(),
        RoomEv::Reconnected(_) => "reconnected".into(),
        RoomEv::Disconnected(_) => "disconnected".into(),
        _ => return None,
    })
}

/// Waits until `room` has reported `count` Reconnected events; returns its
/// connection events.
fn wait_reconnected(room: u64, count: usize) -> Vec<String> {
    wait_room_events(room, count, RESUME_WAIT, |m| {
        matches!(m, RoomEv::Reconnected(_)).then_some(())
    });
    connection_events(room)
}

/// What one resume looks like after the initial connected state.
fn episodes(n: usize) -> Vec<String> {
    let mut expected = vec!["state:CONN_CONNECTED".to_owned()];
    for _ in 0..n {
        expected.extend(
            [
                "state:CONN_RECONNECTING",
                "reconnecting",
                "state:CONN_CONNECTED",
                "reconnected",
            ]
            .map(str::to_owned),
        );
    }
    expected
}

/// Sends `payload` from `from` and waits until `to` has it under `topic`.
fn data_arrives(from: &Joined, to: &Joined, topic: &str, payload: &[u8]) {
    publish(from.local, payload, true, Some(topic), &[]);
    let got = wait_room_event(to.room, WAIT, |m| match m {
        RoomEv::DataPacketReceived(p) => match &p.value {
            Some(proto::data_packet_received::Value::User(u))
                if u.topic.as_deref() == Some(topic) =>
            {
                Some(p.clone())
            }
            _ => None,
        },
        _ => None,
    })
    .unwrap_or_else(|| panic!("{topic}: nothing arrived at {}", to.identity));
    let packet = take_packet(&got);
    assert_eq!(packet.payload, payload);
    assert_eq!(packet.identity, from.identity);
}

/// Publishes `track` as alice's microphone; returns its SID.
fn publish_track(local: u64, track: u64) -> String {
    let Res::PublishTrack(r) = request(Req::PublishTrack(proto::PublishTrackRequest {
        local_participant_handle: local,
        track_handle: track,
        options: proto::TrackPublishOptions {
            source: Some(proto::TrackSource::SourceMicrophone as i32),
            ..Default::default()
        },
        request_async_id: None,
    })) else {
        panic!("PublishTrack answered with another response")
    };
    let async_id = r.async_id;
    match wait_event(WAIT, |m| match m {
        Ev::PublishTrack(cb) if cb.async_id == async_id => cb.message.clone(),
        _ => None,
    }) {
        Some(proto::publish_track_callback::Message::Publication(p)) => p.info.sid,
        other => panic!("publish failed: {other:?}"),
    }
}

/// Alice and bob in room `name`, once alice knows bob.
fn alice_and_bob(server: &TestServer, name: &str) -> (Joined, Joined) {
    let alice = join(server, "alice", name);
    let bob = join(server, "bob", name);
    assert!(wait_knows(&alice, "bob", WAIT), "alice knows bob");
    (alice, bob)
}

/// The 440 Hz sine fed into a published track, until stopped.
struct Sine {
    stop: Arc<AtomicBool>,
    feeder: std::thread::JoinHandle<()>,
}

impl Sine {
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.feeder.join().unwrap();
    }
}

/// Publishes a sine as `local`'s microphone; returns its SID.
fn publish_sine(local: u64) -> (String, Sine) {
    let source = new_source(100);
    let track = audio_track(source);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_sine(source, stop.clone());
    (publish_track(local, track), Sine { stop, feeder })
}

/// Waits until `who` subscribes to the track `sid`; returns an audio
/// stream of it at 48 kHz.
fn listen(who: &Joined, sid: &str, timeout: Duration) -> u64 {
    let remote = wait_room_event(who.room, timeout, |m| match m {
        RoomEv::TrackSubscribed(t) if t.track.info.sid == sid => Some(t.track.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("{} did not subscribe to {sid}", who.identity));
    new_stream(remote.handle.id, RATE, None)
}

/// The 440 Hz tone is what `stream` delivers now: within a few 1.5 s
/// windows after a settling second, one whose zero crossings give 440 Hz
/// and whose level is well above silence. (Right after a resume the jitter
/// buffer may still be concealing or catching up, and a loaded machine can
/// stretch that past the first window.)
fn hears_the_sine(stream: u64, seen: &mut usize, when: &str) {
    std::thread::sleep(Duration::from_millis(1000));
    *seen = stream_frames(stream).len();
    let mut last = String::new();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(1500));
        let frames = stream_frames(stream);
        let samples: Vec<i16> = frames[*seen..].iter().flat_map(take_audio).collect();
        *seen = frames.len();
        if samples.len() < RATE as usize {
            last = format!("1.5 s of audio, got {} samples", samples.len());
            continue;
        }
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        let freq = crossings as f64 / 2.0 / (samples.len() as f64 / RATE as f64);
        let rms = (samples
            .iter()
            .map(|&s| (s as f64 / 32768.0).powi(2))
            .sum::<f64>()
            / samples.len() as f64)
            .sqrt();
        if (freq - 440.0).abs() < 10.0 && rms > 0.05 {
            return;
        }
        last = format!("frequency {freq:.1} Hz, level {rms:.3}");
    }
    panic!("{when}: the tone did not come back: {last}");
}

/// Neither side saw the other leave, nor left itself.
fn nobody_left(rooms: &[&Joined]) {
    for joined in rooms {
        let gone: Vec<String> = room_events(joined.room)
            .iter()
            .filter_map(|m| match m {
                RoomEv::ParticipantDisconnected(p) => Some(p.participant_identity.clone()),
                RoomEv::Disconnected(_) => Some("(self)".into()),
                _ => None,
            })
            .collect();
        assert!(gone.is_empty(), "{} saw {gone:?} leave", joined.identity);
    }
}

#[test]
fn a_lost_signal_connection_resumes_with_data_and_audio_intact() {
    let server = TestServer::start();
    let name = "resume-signal";
    let (alice, bob) = alice_and_bob(&server, name);
    assert!(wait_knows(&bob, "alice", WAIT), "bob knows alice");

    let (sid, sine) = publish_sine(alice.local);
    let stream = listen(&bob, &sid, WAIT);
    let mut seen = 0;
    hears_the_sine(stream, &mut seen, "before any resume");

    // The publisher loses its signal connection.
    assert_eq!(
        simulate(
            alice.room,
            proto::SimulateScenarioKind::SimulateSignalReconnect
        ),
        None
    );
    assert_eq!(wait_reconnected(alice.room, 1), episodes(1));
    data_arrives(&alice, &bob, "after-alice-resumed", b"from alice");
    data_arrives(&bob, &alice, "after-alice-resumed", b"from bob");
    hears_the_sine(stream, &mut seen, "after alice resumed");

    // The subscriber loses its signal connection.
    assert_eq!(
        simulate(
            bob.room,
            proto::SimulateScenarioKind::SimulateSignalReconnect
        ),
        None
    );
    assert_eq!(wait_reconnected(bob.room, 1), episodes(1));
    data_arrives(&alice, &bob, "after-bob-resumed", b"from alice again");
    data_arrives(&bob, &alice, "after-bob-resumed", b"from bob again");
    hears_the_sine(stream, &mut seen, "after bob resumed");

    // A resume is not a reconnect: nobody left, nothing was re-published.
    nobody_left(&[&alice, &bob]);
    let republished = room_events(bob.room)
        .iter()
        .filter(|m| matches!(m, RoomEv::TrackSubscribed(_)))
        .count();
    assert_eq!(republished, 1, "bob subscribed once");

    sine.stop();
    leave(alice.room);
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn a_signal_dropped_again_during_the_resume_costs_one_more_attempt() {
    let server = TestServer::start();
    let name = "resume-twice";
    let (alice, bob) = alice_and_bob(&server, name);
    // Make sure both publishers are negotiated, so the resume restarts ICE.
    data_arrives(&alice, &bob, "before", b"hello");

    assert_eq!(
        simulate(
            alice.room,
            proto::SimulateScenarioKind::SimulateDisconnectSignalOnResume
        ),
        None
    );
    assert_eq!(
        simulate(
            alice.room,
            proto::SimulateScenarioKind::SimulateSignalReconnect
        ),
        None
    );
    // One episode, however many attempts it took.
    assert_eq!(wait_reconnected(alice.room, 1), episodes(1));
    data_arrives(&alice, &bob, "after", b"still here");
    data_arrives(&bob, &alice, "after", b"welcome back");
    nobody_left(&[&alice, &bob]);

    assert!(
        logged("resume attempt 1/10 failed"),
        "the first attempt met the dropped signal"
    );
    leave(alice.room);
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn a_server_that_forgot_us_gets_a_full_reconnect() {
    let server = TestServer::start();
    let name = "resume-node-failure";
    let (alice, bob) = alice_and_bob(&server, name);

    let (old_sid, sine) = publish_sine(alice.local);
    assert!(
        wait_room_event(bob.room, WAIT, |m| match m {
            RoomEv::TrackSubscribed(t) if t.track.info.sid == old_sid => Some(()),
            _ => None,
        })
        .is_some(),
        "bob subscribes to alice's track"
    );
    let before = room_events(alice.room).len();

    // The server drops our session without a Leave; the resume is answered
    // with Leave{RECONNECT}, and the room joins again.
    assert_eq!(
        simulate(alice.room, proto::SimulateScenarioKind::SimulateNodeFailure),
        None
    );
    assert_eq!(wait_reconnected(alice.room, 1), episodes(1));

    // Bob went and came back for alice, between Reconnecting and
    // Reconnected, and her track was published again under a new SID.
    let after: Vec<String> = room_events(alice.room)[before..]
        .iter()
        .filter_map(|m| match m {
            RoomEv::Reconnecting(_) => Some("reconnecting".to_owned()),
            RoomEv::ParticipantDisconnected(p) => Some(format!("gone {}", p.participant_identity)),
            RoomEv::ParticipantConnected(p) => Some(format!("back {}", p.info.info.identity)),
            RoomEv::LocalTrackRepublished(r) if r.previous_sid == old_sid => {
                Some("republished".to_owned())
            }
            RoomEv::Reconnected(_) => Some("reconnected".to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        after,
        [
            "reconnecting",
            "gone bob",
            "back bob",
            "republished",
            "reconnected"
        ]
    );
    let new_sid = room_events(alice.room)
        .iter()
        .find_map(|m| match m {
            RoomEv::LocalTrackRepublished(r) => Some(r.info.sid.clone()),
            _ => None,
        })
        .expect("a LocalTrackRepublished");
    assert_ne!(new_sid, old_sid);

    // Bob hears the new publication; data flows both ways.
    let stream = listen(&bob, &new_sid, RESUME_WAIT);
    let mut seen = 0;
    hears_the_sine(stream, &mut seen, "after the full reconnect");
    data_arrives(&alice, &bob, "after-rejoin", b"from alice");
    data_arrives(&bob, &alice, "after-rejoin", b"from bob");

    sine.stop();
    leave(alice.room);
    let events = connection_events(alice.room);
    assert_eq!(
        &events[events.len() - 2..],
        ["state:CONN_DISCONNECTED", "disconnected"],
        "{events:?}"
    );
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn a_simulated_full_reconnect_reports_the_others_gone_first() {
    let server = TestServer::start();
    let name = "rejoin-simulated";
    let (alice, bob) = alice_and_bob(&server, name);
    let before = room_events(alice.room).len();
    assert_eq!(
        simulate(
            alice.room,
            proto::SimulateScenarioKind::SimulateFullReconnect
        ),
        None
    );
    assert_eq!(wait_reconnected(alice.room, 1), episodes(1));
    let order: Vec<String> = room_events(alice.room)[before..]
        .iter()
        .filter_map(|m| match m {
            RoomEv::ParticipantDisconnected(p) => Some(format!("gone {}", p.participant_identity)),
            RoomEv::ParticipantConnected(p) => Some(format!("back {}", p.info.info.identity)),
            other => connection_label(other),
        })
        .collect();
    assert_eq!(
        order,
        [
            "gone bob",
            "state:CONN_RECONNECTING",
            "reconnecting",
            "back bob",
            "state:CONN_CONNECTED",
            "reconnected"
        ]
    );
    data_arrives(&alice, &bob, "after-rejoin", b"from alice");
    data_arrives(&bob, &alice, "after-rejoin", b"from bob");
    leave(alice.room);
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn leaving_during_a_full_reconnect_ends_the_room_once() {
    let server = TestServer::start();
    // Leave at several points of the recovery: during the resume, around
    // the hand-over, during the new join, after it.
    for delay_ms in [0, 30, 100, 250, 600] {
        let alice = join(&server, "alice", &format!("rejoin-leave-{delay_ms}"));
        assert_eq!(
            simulate(alice.room, proto::SimulateScenarioKind::SimulateNodeFailure),
            None
        );
        assert!(
            wait_room_event(alice.room, RESUME_WAIT, |m| {
                matches!(m, RoomEv::Reconnecting(_)).then_some(())
            })
            .is_some(),
            "alice starts reconnecting"
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        leave(alice.room);
        assert!(
            wait_eos(alice.room, RESUME_WAIT),
            "{delay_ms} ms: the room ends"
        );
        let events = room_events(alice.room);
        let labels: Vec<String> = events.iter().map(label).collect();
        let disconnected = events
            .iter()
            .filter(|m| matches!(m, RoomEv::Disconnected(_)))
            .count();
        assert_eq!(disconnected, 1, "{delay_ms} ms: {labels:?}");
        let after = events
            .iter()
            .skip_while(|m| !matches!(m, RoomEv::Disconnected(_)))
            .skip(1)
            .filter(|m| !matches!(m, RoomEv::Eos(_)))
            .count();
        assert_eq!(
            after, 0,
            "{delay_ms} ms: events after Disconnected: {labels:?}"
        );
    }
    assert_no_panic();
}

#[test]
fn simulate_scenario_refuses_a_closed_room() {
    let server = TestServer::start();
    let alice = join(&server, "alice", "resume-closed");
    leave(alice.room);
    // Refused either in the response (the handle is gone) or in the
    // callback (the room is closed); never carried out.
    let response = try_request(Req::SimulateScenario(proto::SimulateScenarioRequest {
        room_handle: alice.room,
        scenario: proto::SimulateScenarioKind::SimulateSpeaker as i32,
        request_async_id: None,
    }));
    if let Some(Res::SimulateScenario(r)) = response {
        let error = wait_event(WAIT, |m| match m {
            Ev::SimulateScenario(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
            _ => None,
        })
        .expect("a SimulateScenario callback");
        assert!(error.is_some(), "a closed room cannot simulate");
    }
    assert_no_panic();
}
