//! Data between participants on a real livekit-server: reliable order,
//! lossy delivery, destinations, size limits, SIP DTMF, chat and
//! transcriptions, with the received buffers read and dropped as a host
//! would.

mod common;

use common::room::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};

const RELIABLE: i32 = proto::DataPacketKind::KindReliable as i32;
const LOSSY: i32 = proto::DataPacketKind::KindLossy as i32;

/// Alice and Bob in `name`, each knowing the other.
fn pair(server: &TestServer, name: &str) -> (Joined, Joined) {
    let alice = join(server, "alice", name);
    let bob = join(server, "bob", name);
    assert!(wait_knows(&bob, "alice", WAIT), "bob knows alice");
    assert!(wait_knows(&alice, "bob", WAIT), "alice knows bob");
    (alice, bob)
}

/// Waits for `count` user packets on `topic` at `room`, reads them and
/// drops their buffers.
fn receive(room: u64, topic: &str, count: usize) -> Vec<Received> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let packets = user_packets(room, topic);
        if packets.len() >= count || std::time::Instant::now() >= deadline {
            return packets.iter().map(|(p, _)| take_packet(p)).collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn reliable_data_arrives_in_order_with_topic_kind_and_sender() {
    let server = TestServer::start();
    let (alice, bob) = pair(&server, "room-reliable");

    // Queue all 200 before waiting for any callback.
    let payloads: Vec<Vec<u8>> = (0..200u32)
        .map(|i| {
            let mut p = format!("message {i:03}|").into_bytes();
            p.extend((0..(i * 7 % 1000)).map(|j| (i + j) as u8));
            p
        })
        .collect();
    let ids: Vec<u64> = payloads
        .iter()
        .map(|p| start_publish(alice.local, p, true, Some("seq"), &[]))
        .collect();
    for &id in &ids {
        assert_eq!(publish_outcome(id, WAIT), None, "publish {id}");
    }
    // The callbacks came back in request order.
    let order: Vec<u64> = collect_events(|m| match m {
        Ev::PublishData(cb) if ids.contains(&cb.async_id) => Some(cb.async_id),
        _ => None,
    });
    assert_eq!(order, ids, "PublishDataCallbacks in request order");

    let received = receive(bob.room, "seq", payloads.len());
    assert_eq!(received.len(), payloads.len(), "every packet arrived");
    for (i, (got, sent)) in received.iter().zip(&payloads).enumerate() {
        assert_eq!(&got.payload, sent, "packet {i} in order and intact");
        assert_eq!(got.identity, "alice");
        assert_eq!(got.kind, RELIABLE);
        assert_eq!(got.topic.as_deref(), Some("seq"));
    }
    // The sender does not hear itself.
    assert!(user_packets(alice.room, "seq").is_empty());

    // Without a topic, the topic stays unset or empty.
    publish(alice.local, b"no topic", true, None, &[]);
    let untopical = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::DataPacketReceived(p) => match &p.value {
            Some(proto::data_packet_received::Value::User(u))
                if u.topic.as_deref().unwrap_or("").is_empty() =>
            {
                Some(p.clone())
            }
            _ => None,
        },
        _ => None,
    })
    .expect("packet without a topic");
    assert_eq!(take_packet(&untopical).payload, b"no topic");

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn lossy_data_arrives() {
    let server = TestServer::start();
    let (alice, bob) = pair(&server, "room-lossy");
    for i in 0..20u8 {
        publish(alice.local, &[i; 300], false, Some("lossy"), &[]);
    }
    let got = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::DataPacketReceived(p) => match &p.value {
            Some(proto::data_packet_received::Value::User(u))
                if u.topic.as_deref() == Some("lossy") =>
            {
                Some(p.clone())
            }
            _ => None,
        },
        _ => None,
    })
    .expect("a lossy packet");
    // Drop every buffer, not just the first.
    let all = receive(bob.room, "lossy", 1);
    assert!(!all.is_empty());
    assert_eq!(got.kind, LOSSY);
    assert_eq!(got.participant_identity, "alice");
    for packet in &all {
        assert_eq!(packet.kind, LOSSY);
        assert_eq!(packet.payload.len(), 300);
        assert!(packet.payload.iter().all(|&b| b == packet.payload[0]));
    }
    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn destination_identities_are_honoured() {
    let server = TestServer::start();
    let name = "room-destinations";
    let alice = join(&server, "alice", name);
    let bob = join(&server, "bob", name);
    let carol = join(&server, "carol", name);
    for (who, joined) in [("bob", &bob), ("carol", &carol)] {
        assert!(wait_knows(joined, "alice", WAIT), "{who} knows alice");
    }
    assert!(wait_knows(&alice, "bob", WAIT) && wait_knows(&alice, "carol", WAIT));

    publish(alice.local, b"for carol", true, Some("dm"), &["carol"]);
    publish(
        alice.local,
        b"for both",
        true,
        Some("dm"),
        &["bob", "carol"],
    );
    publish(alice.local, b"for nobody here", true, Some("dm"), &["dave"]);
    // A broadcast after them: reliable order means once it arrived, every
    // earlier packet meant for that participant has arrived too.
    publish(alice.local, b"marker", true, Some("marker"), &[]);

    for joined in [&bob, &carol] {
        let marker = receive(joined.room, "marker", 1);
        assert_eq!(marker.len(), 1);
        assert_eq!(marker[0].payload, b"marker");
    }
    let to_carol: Vec<Vec<u8>> = receive(carol.room, "dm", 2)
        .into_iter()
        .map(|r| r.payload)
        .collect();
    assert_eq!(to_carol, [b"for carol".to_vec(), b"for both".to_vec()]);
    let to_bob: Vec<Vec<u8>> = receive(bob.room, "dm", 1)
        .into_iter()
        .map(|r| r.payload)
        .collect();
    assert_eq!(to_bob, [b"for both".to_vec()]);
    assert!(user_packets(alice.room, "dm").is_empty());

    for joined in [&carol, &bob, &alice] {
        leave(joined.room);
    }
    assert_no_panic();
}

#[test]
fn oversized_payloads_fail_in_the_callback() {
    let server = TestServer::start();
    let (alice, bob) = pair(&server, "room-oversized");

    for (size, reliable) in [(64_001usize, true), (64_001, false), (1_000_000, true)] {
        let big = vec![0x5a; size];
        let id = start_publish(alice.local, &big, reliable, Some("big"), &[]);
        let error = publish_outcome(id, WAIT);
        assert!(
            error.as_deref().is_some_and(|e| !e.is_empty()),
            "{size} bytes (reliable {reliable}) must fail, got {error:?}"
        );
    }
    // The room carries on: a packet just under the limit still goes.
    let fits = vec![0xa5; 60_000];
    publish(alice.local, &fits, true, Some("fits"), &[]);
    let got = receive(bob.room, "fits", 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, fits);
    assert!(user_packets(bob.room, "big").is_empty());

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn sip_dtmf_arrives_as_a_data_packet() {
    let server = TestServer::start();
    let (alice, bob) = pair(&server, "room-dtmf");

    let mut ids = Vec::new();
    for (code, digit) in [(1u32, "1"), (10, "*"), (11, "#")] {
        let Res::PublishSipDtmf(r) = request(Req::PublishSipDtmf(proto::PublishSipDtmfRequest {
            local_participant_handle: alice.local,
            code,
            digit: digit.into(),
            destination_identities: Vec::new(),
            request_async_id: None,
        })) else {
            panic!("unexpected response")
        };
        ids.push(r.async_id);
    }
    for &id in &ids {
        let error = wait_event(WAIT, |m| match m {
            Ev::PublishSipDtmf(cb) if cb.async_id == id => Some(cb.error.clone()),
            _ => None,
        })
        .expect("PublishSipDtmfCallback");
        assert_eq!(error, None);
    }

    let deadline = std::time::Instant::now() + WAIT;
    let dtmf = loop {
        let dtmf: Vec<(String, i32, u32, Option<String>)> = room_events(bob.room)
            .into_iter()
            .filter_map(|m| match m {
                RoomEv::DataPacketReceived(p) => match p.value {
                    Some(proto::data_packet_received::Value::SipDtmf(d)) => {
                        Some((p.participant_identity, p.kind, d.code, d.digit))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if dtmf.len() >= 3 || std::time::Instant::now() >= deadline {
            break dtmf;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let expected: Vec<(String, i32, u32, Option<String>)> = [(1, "1"), (10, "*"), (11, "#")]
        .into_iter()
        .map(|(c, d)| ("alice".to_owned(), RELIABLE, c, Some(d.to_owned())))
        .collect();
    assert_eq!(dtmf, expected);

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}

#[test]
fn chat_messages_edits_and_transcriptions_arrive() {
    let server = TestServer::start();
    let name = "room-chat";
    // The server forwards transcriptions only from agents.
    let agent_token = server
        .access_token()
        .with_identity("alice")
        .with_kind("agent")
        .with_grants(livekit_test_server::VideoGrants {
            room_join: true,
            room: name.into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    let alice = join_with_token(&server, &agent_token);
    let bob = join(&server, "bob", name);
    assert!(wait_knows(&bob, "alice", WAIT), "bob knows alice");

    let Res::SendChatMessage(r) = request(Req::SendChatMessage(proto::SendChatMessageRequest {
        local_participant_handle: alice.local,
        message: "hello bob".into(),
        destination_identities: Vec::new(),
        sender_identity: None,
        request_async_id: None,
    })) else {
        panic!("unexpected response")
    };
    let sent = wait_event(WAIT, |m| match m {
        Ev::ChatMessage(cb) if cb.async_id == r.async_id => Some(cb.message.clone()),
        _ => None,
    })
    .expect("SendChatMessageCallback");
    let Some(proto::send_chat_message_callback::Message::ChatMessage(sent)) = sent else {
        panic!("chat failed: {sent:?}")
    };
    assert_eq!(sent.message, "hello bob");
    assert!(!sent.id.is_empty() && sent.timestamp > 0);

    let received = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ChatMessage(c) if c.message.id == sent.id => Some(c.clone()),
        _ => None,
    })
    .expect("chat_message at bob");
    assert_eq!(received.participant_identity, "alice");
    assert_eq!(received.message.message, "hello bob");

    // EditChatMessage is answered as a SendChatMessage.
    let Res::SendChatMessage(r) = request(Req::EditChatMessage(proto::EditChatMessageRequest {
        local_participant_handle: alice.local,
        edit_text: "hello, bob".into(),
        original_message: sent.clone(),
        destination_identities: Vec::new(),
        sender_identity: None,
        request_async_id: None,
    })) else {
        panic!("unexpected response")
    };
    wait_event(WAIT, |m| match m {
        Ev::ChatMessage(cb) if cb.async_id == r.async_id => Some(()),
        _ => None,
    })
    .expect("edit callback");
    let edited = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::ChatMessage(c) if c.message.id == sent.id && c.message.edit_timestamp.is_some() => {
            Some(c.message.clone())
        }
        _ => None,
    })
    .expect("edited chat_message at bob");
    assert_eq!(edited.message, "hello, bob");

    let segment = proto::TranscriptionSegment {
        id: "seg-1".into(),
        text: "hello world".into(),
        start_time: 0,
        end_time: 1500,
        r#final: true,
        language: "en".into(),
    };
    let Res::PublishTranscription(r) = request(Req::PublishTranscription(
        proto::PublishTranscriptionRequest {
            local_participant_handle: alice.local,
            participant_identity: "alice".into(),
            track_id: "TR_none".into(),
            segments: vec![segment.clone()],
            request_async_id: None,
        },
    )) else {
        panic!("unexpected response")
    };
    let error = wait_event(WAIT, |m| match m {
        Ev::PublishTranscription(cb) if cb.async_id == r.async_id => Some(cb.error.clone()),
        _ => None,
    })
    .expect("PublishTranscriptionCallback");
    assert_eq!(error, None);
    let transcription = wait_room_event(bob.room, WAIT, |m| match m {
        RoomEv::TranscriptionReceived(t) => Some(t.clone()),
        _ => None,
    })
    .expect("transcription_received at bob");
    assert_eq!(transcription.participant_identity.as_deref(), Some("alice"));
    assert_eq!(transcription.segments.len(), 1);
    let got = &transcription.segments[0];
    assert_eq!(
        (got.id.as_str(), got.text.as_str(), got.r#final),
        ("seg-1", "hello world", true)
    );

    leave(bob.room);
    leave(alice.room);
    assert_no_panic();
}
