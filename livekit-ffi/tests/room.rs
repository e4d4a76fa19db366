//! Rooms on a real livekit-server through the C ABI: connecting, the order
//! of a room's events, leaving, being removed or replaced, local metadata,
//! data-channel thresholds, statistics and requests that must fail cleanly.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use common::room::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};
use livekit_test_server::{AccessToken, VideoGrants};

const CONNECTED: i32 = proto::ConnectionState::ConnConnected as i32;

fn reason(r: proto::DisconnectReason) -> i32 {
    r as i32
}

/// A room event or the callback of a request, in delivery order.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a test log, not a hot path
enum Seen {
    Callback,
    Room(RoomEv),
}

/// The ConnectCallback of `joined` and its room's events, in delivery order.
fn connect_then_events(joined: &Joined) -> Vec<Seen> {
    collect_events(|m| match m {
        Ev::Connect(cb) if cb.async_id == joined.async_id => Some(Seen::Callback),
        Ev::RoomEvent(e) if e.room_handle == joined.room => e.message.clone().map(Seen::Room),
        _ => None,
    })
}

/// The DisconnectCallback `async_id` and `room`'s events, in delivery order.
fn events_then_disconnect(room: u64, async_id: u64) -> Vec<Seen> {
    collect_events(|m| match m {
        Ev::Disconnect(cb) if cb.async_id == async_id => Some(Seen::Callback),
        Ev::RoomEvent(e) if e.room_handle == room => e.message.clone().map(Seen::Room),
        _ => None,
    })
}

/// The ConnectCallback came before any event of its room, and the room's
/// first connection state is CONNECTED.
fn assert_connect_order(joined: &Joined) {
    wait_room_event(joined.room, WAIT, |m| {
        matches!(m, RoomEv::ConnectionStateChanged(_)).then_some(())
    })
    .expect("a connection_state_changed event");
    let seen = connect_then_events(joined);
    assert!(
        matches!(seen.first(), Some(Seen::Callback)),
        "ConnectCallback first: {seen:?}"
    );
    let first_state = seen.iter().find_map(|s| match s {
        Seen::Room(RoomEv::ConnectionStateChanged(c)) => Some(c.state),
        _ => None,
    });
    assert_eq!(first_state, Some(CONNECTED), "{seen:?}");
}

/// Stricter: the very first room event is connection_state_changed
/// CONNECTED, as the official library delivers it.
fn assert_first_event_connected(joined: &Joined) {
    assert_connect_order(joined);
    let seen = connect_then_events(joined);
    match seen.get(1) {
        Some(Seen::Room(RoomEv::ConnectionStateChanged(c))) => assert_eq!(c.state, CONNECTED),
        other => panic!(
            "first room event is connection_state_changed, not {:?}",
            other.map(|s| match s {
                Seen::Room(m) => label(m),
                Seen::Callback => "the callback".into(),
            })
        ),
    }
}

/// After a leave: RoomEOS is the room's last event, sent once, before the
/// DisconnectCallback `async_id` (when given).
fn assert_ends_with_eos(room: u64, async_id: Option<u64>) {
    let seen = events_then_disconnect(room, async_id.unwrap_or(0));
    let eos: Vec<usize> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Seen::Room(RoomEv::Eos(_))))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(eos.len(), 1, "one RoomEOS: {seen:?}");
    let room_events: Vec<&Seen> = seen.iter().filter(|s| matches!(s, Seen::Room(_))).collect();
    assert!(
        matches!(room_events.last(), Some(Seen::Room(RoomEv::Eos(_)))),
        "RoomEOS is the last room event: {seen:?}"
    );
    if async_id.is_some() {
        assert!(
            matches!(seen.last(), Some(Seen::Callback)),
            "the DisconnectCallback comes after RoomEOS: {seen:?}"
        );
    }
}

/// The reason of `room`'s `disconnected` event, once it arrived.
fn disconnected_reason(room: u64) -> Option<i32> {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::Disconnected(d) => Some(d.reason),
        _ => None,
    })
}

fn participant_disconnected(room: u64, identity: &str) -> Option<i32> {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::ParticipantDisconnected(d) if d.participant_identity == identity => {
            Some(d.disconnect_reason)
        }
        _ => None,
    })
}

#[test]
fn two_participants_connect_see_each_other_and_leave() {
    let server = TestServer::start();
    let name = "room-two";

    let alice = join(&server, "alice", name);
    let info = &alice.result.room.info;
    assert!(
        info.sid.as_deref().is_some_and(|s| s.starts_with("RM_")),
        "room sid: {info:?}"
    );
    assert_eq!(info.name, name);
    assert_eq!(alice.identity, "alice");
    assert!(
        alice.result.local_participant.info.sid.starts_with("PA_"),
        "{:?}",
        alice.result.local_participant.info
    );
    assert!(alice.result.participants.is_empty());
    assert!(alice.room != 0 && alice.local != 0 && alice.room != alice.local);
    assert_connect_order(&alice);

    let bob = join(&server, "bob", name);
    assert_eq!(bob.result.room.info.sid, info.sid, "same room");
    assert_eq!(bob.identity, "bob");
    let others: Vec<&str> = bob
        .result
        .participants
        .iter()
        .map(|p| p.participant.info.identity.as_str())
        .collect();
    assert_eq!(others, ["alice"]);
    let alice_seen_by_bob = &bob.result.participants[0].participant;
    assert_eq!(
        alice_seen_by_bob.info.sid,
        alice.result.local_participant.info.sid
    );
    assert_ne!(alice_seen_by_bob.handle.id, 0);
    assert_connect_order(&bob);

    // Alice hears of Bob (the server batches these updates).
    let connected = wait_room_event(alice.room, WAIT, |m| match m {
        RoomEv::ParticipantConnected(c) => Some(c.info.clone()),
        _ => None,
    })
    .expect("participant_connected at alice");
    assert_eq!(connected.info.identity, "bob");
    assert_eq!(connected.info.sid, bob.result.local_participant.info.sid);
    assert_ne!(connected.handle.id, 0);

    // Each room reports its sid after Ready.
    for joined in [&alice, &bob] {
        let sid = wait_room_event(joined.room, WAIT, |m| match m {
            RoomEv::RoomSidChanged(c) => Some(c.sid.clone()),
            _ => None,
        });
        assert_eq!(sid, info.sid, "room_sid_changed");
    }
    // Whoever came in the ConnectCallback is not announced again, and a
    // newcomer is announced once.
    let announced = |room: u64| -> Vec<String> {
        room_events(room)
            .iter()
            .filter_map(|m| match m {
                RoomEv::ParticipantConnected(c) => Some(c.info.info.identity.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(announced(bob.room), Vec::<String>::new());
    assert_eq!(announced(alice.room), ["bob"]);

    // Bob leaves: his RoomEOS is his last event and precedes the callback.
    let id = start_disconnect(bob.room);
    assert!(wait_disconnected(id, WAIT), "DisconnectCallback");
    assert_ends_with_eos(bob.room, Some(id));
    let states: Vec<i32> = room_events(bob.room)
        .iter()
        .filter_map(|m| match m {
            RoomEv::ConnectionStateChanged(c) => Some(c.state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states.last(),
        Some(&(proto::ConnectionState::ConnDisconnected as i32)),
        "{states:?}"
    );

    // Alice hears Bob went, because he asked to.
    assert_eq!(
        participant_disconnected(alice.room, "bob"),
        Some(reason(proto::DisconnectReason::ClientInitiated))
    );

    // Handles the host owns drop once each.
    drop_handle(bob.room);
    drop_handle(bob.local);
    drop_handle(alice_seen_by_bob.handle.id);
    let id = start_disconnect(alice.room);
    assert!(wait_disconnected(id, WAIT));
    assert_ends_with_eos(alice.room, Some(id));
    assert_no_panic();
}

/// Events the signal connection produces while the join waits for ICE
/// (the server's token refresh comes at once) must not overtake CONNECTED.
#[test]
fn first_room_event_is_connection_state_connected() {
    let server = TestServer::start();
    let name = "room-first-event";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    assert_first_event_connected(&alice);
    assert_first_event_connected(&bob);
    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn events_wait_for_ready_and_none_are_lost() {
    let server = TestServer::start();
    let name = "room-ready";
    let alice = join(&server, "alice", name);
    let bob = connect_unready(&server.url(), &server.token("bob", name));

    // Something happens in the room while Bob's host is not listening yet.
    server
        .room_service()
        .update_room_metadata(name, "set-before-ready")
        .expect("update room metadata");
    wait_room_event(alice.room, WAIT, |m| match m {
        RoomEv::RoomMetadataChanged(r) if r.metadata == "set-before-ready" => Some(()),
        _ => None,
    })
    .expect("alice, who is ready, sees the metadata");
    // Bob's copy of that update has had time to arrive too.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        room_events(bob.room).is_empty(),
        "no room event before ReadyForRoomEvent: {:?}",
        room_events(bob.room).iter().map(label).collect::<Vec<_>>()
    );

    ready(bob.room);
    wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::RoomMetadataChanged(r) if r.metadata == "set-before-ready" => Some(()),
        _ => None,
    })
    .expect("the buffered event is delivered after Ready");
    assert_connect_order(&bob);
    // A second Ready is harmless.
    ready(bob.room);

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

fn set_metadata(local: u64, metadata: &str) -> Option<String> {
    let Res::SetLocalMetadata(r) = request(Req::SetLocalMetadata(proto::SetLocalMetadataRequest {
        local_participant_handle: local,
        metadata: metadata.into(),
        request_async_id: None,
    })) else {
        panic!("unexpected response")
    };
    wait_event(WAIT, |m| match m {
        Ev::SetLocalMetadata(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("SetLocalMetadataCallback")
}

fn set_name(local: u64, name: &str) -> Option<String> {
    let Res::SetLocalName(r) = request(Req::SetLocalName(proto::SetLocalNameRequest {
        local_participant_handle: local,
        name: name.into(),
        request_async_id: None,
    })) else {
        panic!("unexpected response")
    };
    wait_event(WAIT, |m| match m {
        Ev::SetLocalName(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("SetLocalNameCallback")
}

fn entries(pairs: &[(&str, &str)]) -> Vec<proto::AttributesEntry> {
    pairs
        .iter()
        .map(|&(key, value)| proto::AttributesEntry {
            key: key.into(),
            value: value.into(),
        })
        .collect()
}

fn sorted(mut entries: Vec<proto::AttributesEntry>) -> Vec<(String, String)> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries.into_iter().map(|e| (e.key, e.value)).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    sorted(entries(list))
}

fn set_attributes(local: u64, attributes: &[(&str, &str)]) -> Option<String> {
    let Res::SetLocalAttributes(r) =
        request(Req::SetLocalAttributes(proto::SetLocalAttributesRequest {
            local_participant_handle: local,
            attributes: entries(attributes),
            request_async_id: None,
        }))
    else {
        panic!("unexpected response")
    };
    wait_event(WAIT, |m| match m {
        Ev::SetLocalAttributes(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("SetLocalAttributesCallback")
}

#[test]
fn local_metadata_name_and_attributes_reach_the_others() {
    let server = TestServer::start();
    let name = "room-meta";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    assert!(wait_knows(&bob, "alice", WAIT));

    assert_eq!(set_metadata(alice.local, r#"{"mood":"calm"}"#), None);
    let metadata = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ParticipantMetadataChanged(c) if c.participant_identity == "alice" => {
            Some(c.metadata.clone())
        }
        _ => None,
    });
    assert_eq!(metadata.as_deref(), Some(r#"{"mood":"calm"}"#));

    assert_eq!(set_name(alice.local, "Alice A."), None);
    let display = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ParticipantNameChanged(c) if c.participant_identity == "alice" => {
            Some(c.name.clone())
        }
        _ => None,
    });
    assert_eq!(display.as_deref(), Some("Alice A."));

    assert_eq!(
        set_attributes(alice.local, &[("team", "red"), ("seat", "2")]),
        None
    );
    let first = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ParticipantAttributesChanged(c) if c.participant_identity == "alice" => {
            Some(c.clone())
        }
        _ => None,
    })
    .expect("participant_attributes_changed");
    assert_eq!(
        sorted(first.attributes),
        pairs(&[("seat", "2"), ("team", "red")])
    );
    assert_eq!(
        sorted(first.changed_attributes),
        pairs(&[("seat", "2"), ("team", "red")])
    );

    // A second change names only what changed, and keeps the rest.
    assert_eq!(set_attributes(alice.local, &[("seat", "3")]), None);
    let second = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ParticipantAttributesChanged(c)
            if c.participant_identity == "alice"
                && c.changed_attributes.iter().any(|e| e.value == "3") =>
        {
            Some(c.clone())
        }
        _ => None,
    })
    .expect("second participant_attributes_changed");
    assert_eq!(
        sorted(second.attributes),
        pairs(&[("seat", "3"), ("team", "red")])
    );
    assert_eq!(sorted(second.changed_attributes), pairs(&[("seat", "3")]));

    // The server agrees.
    let listed = server.room_service().list_participants(name).unwrap();
    let alice_info = listed
        .iter()
        .find(|p| p["identity"] == "alice")
        .expect("alice listed");
    assert_eq!(alice_info["name"], "Alice A.");
    assert_eq!(alice_info["metadata"], r#"{"mood":"calm"}"#);
    assert_eq!(alice_info["attributes"]["seat"], "3");

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn data_channel_threshold_changes_are_reported() {
    let server = TestServer::start();
    let alice = join(&server, "alice", "room-threshold");
    let defaults = &alice.result.room.info;
    assert!(
        defaults.lossy_dc_buffered_amount_low_threshold > 0
            && defaults.reliable_dc_buffered_amount_low_threshold > 0,
        "{defaults:?}"
    );

    for (kind, threshold) in [
        (proto::DataPacketKind::KindLossy, 4096u64),
        (proto::DataPacketKind::KindReliable, 65_536),
    ] {
        let Res::SetDataChannelBufferedAmountLowThreshold(_) =
            request(Req::SetDataChannelBufferedAmountLowThreshold(
                proto::SetDataChannelBufferedAmountLowThresholdRequest {
                    local_participant_handle: alice.local,
                    threshold,
                    kind: kind as i32,
                },
            ))
        else {
            panic!("unexpected response")
        };
        let changed = wait_room_event(alice.room, WAIT, |m| match m {
            RoomEv::DataChannelLowThresholdChanged(c) if c.kind == kind as i32 => Some(c.threshold),
            _ => None,
        });
        assert_eq!(changed, Some(threshold), "{kind:?}");
    }
    // Sending still works with the new thresholds.
    publish(alice.local, b"after threshold", true, Some("t"), &[]);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn session_stats_describe_both_transports() {
    let server = TestServer::start();
    let alice = join(&server, "alice", "room-stats");
    // Sending data negotiates the publisher connection.
    publish(alice.local, b"hello", true, Some("stats"), &[]);

    let Res::GetSessionStats(r) = request(Req::GetSessionStats(proto::GetSessionStatsRequest {
        room_handle: alice.room,
        request_async_id: None,
    })) else {
        panic!("unexpected response")
    };
    let message = wait_event(WAIT, |m| match m {
        Ev::GetSessionStats(cb) if cb.async_id == r.async_id => Some(cb.message.clone()),
        _ => None,
    })
    .expect("GetSessionStatsCallback");
    let Some(proto::get_session_stats_callback::Message::Result(stats)) = message else {
        panic!("session stats failed: {message:?}")
    };
    for (side, list) in [
        ("publisher", &stats.publisher_stats),
        ("subscriber", &stats.subscriber_stats),
    ] {
        assert!(!list.is_empty(), "{side} stats are empty");
        let has = |want: fn(&proto::rtc_stats::Stats) -> bool| {
            list.iter().any(|s| s.stats.as_ref().is_some_and(want))
        };
        assert!(
            has(|s| matches!(s, proto::rtc_stats::Stats::Transport(_))),
            "{side} has a transport entry: {list:?}"
        );
        assert!(
            has(|s| matches!(s, proto::rtc_stats::Stats::CandidatePair(_))),
            "{side} has a candidate-pair entry: {list:?}"
        );
    }

    // A request with a custom async id gets that id back.
    let Res::GetSessionStats(r) = request(Req::GetSessionStats(proto::GetSessionStatsRequest {
        room_handle: alice.room,
        request_async_id: Some(0x5eed_0001),
    })) else {
        panic!("unexpected response")
    };
    assert_eq!(r.async_id, 0x5eed_0001);
    wait_event(WAIT, |m| match m {
        Ev::GetSessionStats(cb) if cb.async_id == 0x5eed_0001 => Some(()),
        _ => None,
    })
    .expect("callback under the requested async id");

    leave(alice.room);
    assert_no_panic();
}

#[test]
fn bad_tokens_fail_quickly_through_the_callback() {
    let server = TestServer::start();
    let wrong_secret = AccessToken::with_api_key("devkey", "not-the-secret")
        .with_identity("mallory")
        .with_grants(VideoGrants {
            room_join: true,
            room: "room-bad-token".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    for token in ["not-a-token", wrong_secret.as_str()] {
        let started = Instant::now();
        let id = start_connect(&server.url(), token);
        let outcome = connect_outcome(id, 5 * SECOND);
        let elapsed = started.elapsed();
        match outcome {
            proto::connect_callback::Message::Error(e) => assert!(!e.is_empty()),
            proto::connect_callback::Message::Result(r) => {
                panic!("connected with a bad token: {:?}", r.room.info)
            }
        }
        assert!(elapsed < 5 * SECOND, "took {elapsed:?}");
    }
    assert_no_panic();
}

#[test]
fn a_refused_port_fails_quickly_through_the_callback() {
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    // The host may choose the async id.
    let Res::Connect(r) = request(Req::Connect(proto::ConnectRequest {
        url: format!("ws://127.0.0.1:{port}"),
        token: "token".into(),
        options: proto::RoomOptions::default(),
        request_async_id: Some(0x00c0_ffee_0001),
    })) else {
        panic!("unexpected response")
    };
    assert_eq!(r.async_id, 0x00c0_ffee_0001);
    let outcome = connect_outcome(r.async_id, 5 * SECOND);
    assert!(
        matches!(&outcome, proto::connect_callback::Message::Error(e) if !e.is_empty()),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < 5 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_no_panic();
}

#[test]
fn wrong_handles_are_refused_not_fatal() {
    let server = TestServer::start();
    let name = "room-wrong-handles";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    let remote_alice = bob.result.participants[0].participant.handle.id;
    let payload = b"payload";
    let data = |handle: u64| {
        Req::PublishData(proto::PublishDataRequest {
            local_participant_handle: handle,
            data_ptr: payload.as_ptr() as u64,
            data_len: payload.len() as u64,
            reliable: true,
            topic: None,
            destination_identities: Vec::new(),
            request_async_id: None,
            ..Default::default()
        })
    };

    // A room handle where a participant is expected, and the reverse.
    assert!(try_request(data(alice.room)).is_none());
    assert!(logged(&format!("handle {} is not a", alice.room)));
    assert!(
        try_request(Req::ReadyForRoomEvent(proto::ReadyForRoomEventRequest {
            room_handle: alice.local
        }))
        .is_none()
    );
    assert!(
        try_request(Req::Disconnect(proto::DisconnectRequest {
            room_handle: alice.local,
            request_async_id: None,
            reason: None,
        }))
        .is_none()
    );
    assert!(
        try_request(Req::GetSessionStats(proto::GetSessionStatsRequest {
            room_handle: alice.local,
            request_async_id: None,
        }))
        .is_none()
    );
    assert!(
        try_request(Req::SetLocalMetadata(proto::SetLocalMetadataRequest {
            local_participant_handle: alice.room,
            metadata: "x".into(),
            request_async_id: None,
        }))
        .is_none()
    );
    assert!(
        try_request(Req::PublishSipDtmf(proto::PublishSipDtmfRequest {
            local_participant_handle: alice.room,
            code: 1,
            digit: "1".into(),
            destination_identities: Vec::new(),
            request_async_id: None,
        }))
        .is_none()
    );
    assert!(
        try_request(Req::SetDataChannelBufferedAmountLowThreshold(
            proto::SetDataChannelBufferedAmountLowThresholdRequest {
                local_participant_handle: alice.room,
                threshold: 1,
                kind: proto::DataPacketKind::KindReliable as i32,
            }
        ))
        .is_none()
    );
    // A remote participant cannot be made to speak or rename itself.
    assert!(try_request(data(remote_alice)).is_none());
    assert!(
        try_request(Req::SetLocalName(proto::SetLocalNameRequest {
            local_participant_handle: remote_alice,
            name: "impostor".into(),
            request_async_id: None,
        }))
        .is_none()
    );
    assert!(logged("is not the local participant"));
    // A resampler is not a room; an unknown handle is nothing.
    let Res::NewAudioResampler(resampler) =
        request(Req::NewAudioResampler(proto::NewAudioResamplerRequest {}))
    else {
        panic!("unexpected response")
    };
    let resampler = resampler.resampler.handle.id;
    assert!(try_request(data(resampler)).is_none());
    assert!(
        try_request(Req::GetSessionStats(proto::GetSessionStatsRequest {
            room_handle: resampler,
            request_async_id: None,
        }))
        .is_none()
    );
    drop_handle(resampler);
    assert!(try_request(data(987_654_321)).is_none());
    assert!(try_request(data(0)).is_none());
    // A null payload with a length is refused, not read.
    assert!(
        try_request(Req::PublishData(proto::PublishDataRequest {
            local_participant_handle: alice.local,
            data_ptr: 0,
            data_len: 16,
            reliable: true,
            topic: None,
            destination_identities: Vec::new(),
            request_async_id: None,
            ..Default::default()
        }))
        .is_none()
    );

    // The room is none the worse.
    publish(alice.local, payload, true, Some("still-fine"), &[]);
    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn removal_by_the_server_ends_the_room() {
    let server = TestServer::start();
    let name = "room-removal";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    assert!(wait_knows(&alice, "bob", WAIT));

    server
        .room_service()
        .remove_participant(name, "bob")
        .expect("remove bob");
    assert_eq!(
        disconnected_reason(bob.room),
        Some(reason(proto::DisconnectReason::ParticipantRemoved))
    );
    assert!(wait_eos(bob.room, WAIT), "RoomEOS after removal");
    assert_ends_with_eos(bob.room, None);
    assert_eq!(
        participant_disconnected(alice.room, "bob"),
        Some(reason(proto::DisconnectReason::ParticipantRemoved))
    );

    // The closed room still answers: data fails, Disconnect completes.
    let id = start_publish(bob.local, b"too late", true, None, &[]);
    assert!(
        publish_outcome(id, WAIT).is_some(),
        "publish on a closed room"
    );
    let id = start_disconnect(bob.room);
    assert!(wait_disconnected(id, WAIT), "Disconnect of a closed room");
    assert_ends_with_eos(bob.room, None);

    leave(alice.room);
    assert_no_panic();
}

#[test]
fn a_duplicate_identity_replaces_the_older_connection() {
    let server = TestServer::start();
    let name = "room-duplicate";
    let first = join(&server, "dup", name);
    let second = join(&server, "dup", name);

    assert_eq!(
        disconnected_reason(first.room),
        Some(reason(proto::DisconnectReason::DuplicateIdentity))
    );
    assert!(wait_eos(first.room, WAIT), "RoomEOS of the older one");
    assert_ends_with_eos(first.room, None);

    // The newer one is unaffected.
    publish(second.local, b"still here", true, Some("dup"), &[]);
    assert!(
        !room_events(second.room)
            .iter()
            .any(|m| matches!(m, RoomEv::Disconnected(_) | RoomEv::Eos(_))),
        "{:?}",
        room_events(second.room)
            .iter()
            .map(label)
            .collect::<Vec<_>>()
    );
    let id = start_disconnect(second.room);
    assert!(wait_disconnected(id, WAIT));
    assert_ends_with_eos(second.room, Some(id));
    assert_no_panic();
}

#[test]
fn dropping_the_room_handle_keeps_the_room_connected() {
    let server = TestServer::start();
    let name = "room-handle-drop";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    assert!(wait_knows(&bob, "alice", WAIT));
    // (A participant who comes and goes within one of the server's update
    // batches is never announced, so let Alice see Bob first.)
    assert!(wait_knows(&alice, "bob", WAIT));

    // The host lets go of its room handle; the room itself stays.
    drop_handle(alice.room);
    assert!(
        try_request(Req::GetSessionStats(proto::GetSessionStatsRequest {
            room_handle: alice.room,
            request_async_id: None,
        }))
        .is_none(),
        "the dropped handle no longer names a room"
    );
    publish(
        alice.local,
        b"still connected",
        true,
        Some("after-drop"),
        &[],
    );
    let got = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::DataPacketReceived(p) => match &p.value {
            Some(proto::data_packet_received::Value::User(u))
                if u.topic.as_deref() == Some("after-drop") =>
            {
                Some(p.clone())
            }
            _ => None,
        },
        _ => None,
    })
    .expect("data from the room whose handle was dropped");
    assert_eq!(take_packet(&got).payload, b"still connected");
    // Its events still flow under the old handle.
    assert_eq!(set_metadata(alice.local, "after-drop"), None);
    leave(bob.room);
    assert_eq!(
        participant_disconnected(alice.room, "bob"),
        Some(reason(proto::DisconnectReason::ClientInitiated))
    );
    assert_no_panic();
}
