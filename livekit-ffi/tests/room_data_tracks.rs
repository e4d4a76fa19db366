//! Data tracks between participants on a real livekit-server, driven as a
//! host would: publish, discover, subscribe, pull frames (small, and large
//! enough to span several packets), unpublish, and the refusals.

mod common;

use std::time::{Duration, Instant};

use common::room::*;
use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};

/// Sends PublishDataTrackRequest and waits for its callback.
fn publish_track(local: u64, name: &str) -> proto::publish_data_track_callback::Result {
    publish_track_with(
        local,
        proto::DataTrackOptions {
            name: name.into(),
            ..Default::default()
        },
    )
}

fn publish_track_with(
    local: u64,
    options: proto::DataTrackOptions,
) -> proto::publish_data_track_callback::Result {
    let Res::PublishDataTrack(r) = request(Req::PublishDataTrack(proto::PublishDataTrackRequest {
        local_participant_handle: local,
        options,
        request_async_id: None,
    })) else {
        panic!("PublishDataTrackRequest answered with another response")
    };
    assert_ne!(r.async_id, 0);
    wait_event(WAIT, |m| match m {
        Ev::PublishDataTrack(cb) if cb.async_id == r.async_id => cb.result.clone(),
        _ => None,
    })
    .expect("a PublishDataTrackCallback with a result")
}

fn published(result: proto::publish_data_track_callback::Result) -> proto::OwnedLocalDataTrack {
    match result {
        proto::publish_data_track_callback::Result::Track(track) => track,
        proto::publish_data_track_callback::Result::Error(e) => panic!("publish failed: {e:?}"),
    }
}

fn publish_error(
    result: proto::publish_data_track_callback::Result,
) -> proto::PublishDataTrackError {
    match result {
        proto::publish_data_track_callback::Result::Error(e) => e,
        proto::publish_data_track_callback::Result::Track(t) => panic!("published: {t:?}"),
    }
}

/// Waits for `room`'s DataTrackPublished of a track named `name`.
fn wait_remote_track(room: u64, name: &str) -> proto::OwnedRemoteDataTrack {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::DataTrackPublished(p) if p.track.info.name == name => Some(p.track.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no DataTrackPublished for {name}"))
}

/// Waits for `room`'s DataTrackUnpublished of `sid`.
fn wait_unpublished(room: u64, sid: &str) -> bool {
    wait_room_event(room, WAIT, |m| match m {
        RoomEv::DataTrackUnpublished(u) if u.sid == sid => Some(()),
        _ => None,
    })
    .is_some()
}

fn try_push(
    track: u64,
    payload: Vec<u8>,
    ts: Option<u64>,
) -> Option<proto::LocalDataTrackTryPushError> {
    let Res::LocalDataTrackTryPush(r) = request(Req::LocalDataTrackTryPush(
        proto::LocalDataTrackTryPushRequest {
            track_handle: track,
            frame: proto::DataTrackFrame {
                payload,
                user_timestamp: ts,
            },
        },
    )) else {
        panic!("LocalDataTrackTryPushRequest answered with another response")
    };
    r.error
}

fn local_is_published(track: u64) -> bool {
    let Res::LocalDataTrackIsPublished(r) = request(Req::LocalDataTrackIsPublished(
        proto::LocalDataTrackIsPublishedRequest {
            track_handle: track,
        },
    )) else {
        panic!("wrong response")
    };
    r.is_published
}

fn remote_is_published(track: u64) -> bool {
    let Res::RemoteDataTrackIsPublished(r) = request(Req::RemoteDataTrackIsPublished(
        proto::RemoteDataTrackIsPublishedRequest {
            track_handle: track,
        },
    )) else {
        panic!("wrong response")
    };
    r.is_published
}

fn subscribe(track: u64) -> u64 {
    let Res::SubscribeDataTrack(r) =
        request(Req::SubscribeDataTrack(proto::SubscribeDataTrackRequest {
            track_handle: track,
            options: proto::DataTrackSubscribeOptions {
                buffer_size: Some(64),
            },
        }))
    else {
        panic!("wrong response")
    };
    r.stream.handle.id
}

fn read(stream: u64) -> Option<proto::DataTrackStreamEos> {
    let Res::DataTrackStreamRead(r) = request(Req::DataTrackStreamRead(
        proto::DataTrackStreamReadRequest {
            stream_handle: stream,
        },
    )) else {
        panic!("wrong response")
    };
    r.eos_event
}

/// Every event of `stream` so far, in order.
fn stream_events(stream: u64) -> Vec<proto::data_track_stream_event::Detail> {
    collect_events(|m| match m {
        Ev::DataTrackStreamEvent(e) if e.stream_handle == stream => e.detail.clone(),
        _ => None,
    })
}

fn frames(stream: u64) -> Vec<proto::DataTrackFrame> {
    stream_events(stream)
        .into_iter()
        .filter_map(|d| match d {
            proto::data_track_stream_event::Detail::FrameReceived(f) => Some(f.frame),
            _ => None,
        })
        .collect()
}

/// Waits until `stream` has delivered `count` frames.
fn wait_frames(stream: u64, count: usize, timeout: Duration) -> Vec<proto::DataTrackFrame> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = frames(stream);
        if got.len() >= count || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn frames_flow_on_demand_and_unpublishing_ends_the_stream() {
    let server = TestServer::start();
    let name = "room-data-track";
    let bob = join(&server, "bob", name);
    let alice = join(&server, "alice", name);
    assert!(wait_knows(&bob, "alice", WAIT), "bob knows alice");

    let local = published(publish_track(alice.local, "pose"));
    assert!(local.info.sid.starts_with("DTR_"), "sid {}", local.info.sid);
    assert_eq!(local.info.name, "pose");
    assert!(!local.info.uses_e2ee);
    assert!(local_is_published(local.handle.id));

    let remote = wait_remote_track(bob.room, "pose");
    assert_eq!(remote.info.sid, local.info.sid);
    assert_eq!(remote.publisher_identity, "alice");
    assert!(remote_is_published(remote.handle.id));
    // The publisher does not hear about its own track.
    assert!(
        room_events(alice.room)
            .iter()
            .all(|m| !matches!(m, RoomEv::DataTrackPublished(_))),
        "alice got a DataTrackPublished of her own track"
    );

    // The subscription starts in the background; frames pushed before it
    // is up are lost, so push until the first one arrives.
    let stream = subscribe(remote.handle.id);
    assert_eq!(read(stream), None);
    let deadline = Instant::now() + WAIT;
    let mut probe = 0u8;
    while frames(stream).is_empty() && Instant::now() < deadline {
        assert_eq!(try_push(local.handle.id, vec![0xEE, probe], None), None);
        probe = probe.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = frames(stream);
    assert_eq!(first.len(), 1, "one read, one frame");
    assert_eq!(first[0].payload[0], 0xEE);
    assert_eq!(first[0].user_timestamp, None);

    // Without reads, no frame events: frames wait in the stream's buffer
    // (this one drops the frames older than its last 64).
    std::thread::sleep(Duration::from_millis(200));
    // Frames that fit one packet, and an empty one (one empty packet).
    let sizes = [1usize, 100, 8_000, 15_000, 0];
    for (i, size) in sizes.iter().enumerate() {
        let payload: Vec<u8> = (0..*size).map(|j| (i * 31 + j) as u8).collect();
        assert_eq!(try_push(local.handle.id, payload, Some(now_ms())), None);
        std::thread::sleep(Duration::from_millis(60));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(frames(stream).len(), 1, "frames only come when read");

    // Each read releases one frame; the stragglers of the probe loop come
    // first, then the sized frames intact and in order.
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.len() < sizes.len() && Instant::now() < deadline {
        let before = frames(stream).len();
        assert_eq!(read(stream), None);
        let now = wait_frames(stream, before + 1, WAIT);
        assert_eq!(now.len(), before + 1, "a read releases exactly one frame");
        let frame = now[before].clone();
        if frame.payload.first() == Some(&0xEE) && frame.payload.len() == 2 {
            continue;
        }
        got.push(frame);
    }
    assert_eq!(got.len(), sizes.len());
    for (i, (frame, size)) in got.iter().zip(sizes).enumerate() {
        let expected: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
        assert_eq!(frame.payload.len(), size, "frame {i}");
        assert!(frame.payload == expected, "frame {i} intact");
        let ts = frame.user_timestamp.expect("the timestamp travels");
        assert!(
            now_ms().saturating_sub(ts) < 10_000,
            "timestamp {ts} is recent"
        );
    }

    // Frames of several packets. The server drops a packet while the
    // subscriber's channel still holds too much of the previous one (a
    // latency guard that loosens as the track's bitrate grows), so a large
    // frame may take a few tries; whichever arrives is whole.
    for _ in 0..400 {
        assert_eq!(read(stream), None);
    }
    for (n, size) in [40_000usize, 100_000].into_iter().enumerate() {
        let payload: Vec<u8> = (0..size).map(|j| (j * 13 + n) as u8).collect();
        let mut arrived = false;
        for _ in 0..50 {
            assert_eq!(try_push(local.handle.id, payload.clone(), None), None);
            std::thread::sleep(Duration::from_millis(300));
            let frames = frames(stream);
            if frames.iter().any(|f| f.payload.len() == size) {
                assert!(
                    frames
                        .iter()
                        .filter(|f| f.payload.len() == size)
                        .all(|f| f.payload == payload),
                    "a {size}-byte frame arrived damaged"
                );
                arrived = true;
                break;
            }
        }
        assert!(arrived, "no {size}-byte frame arrived in 50 tries");
    }

    // Unpublishing: the subscriber sees the track go and its stream end
    // without an error; pushes fail.
    let Res::LocalDataTrackUnpublish(_) = request(Req::LocalDataTrackUnpublish(
        proto::LocalDataTrackUnpublishRequest {
            track_handle: local.handle.id,
        },
    )) else {
        panic!("wrong response")
    };
    assert!(!local_is_published(local.handle.id));
    let error = try_push(local.handle.id, vec![1], None).expect("push after unpublish fails");
    assert_eq!(
        error.code,
        proto::LocalDataTrackTryPushErrorCode::TrackUnpublished as i32
    );
    assert!(
        wait_unpublished(bob.room, &local.info.sid),
        "bob sees the unpublish"
    );
    assert!(!remote_is_published(remote.handle.id));
    let deadline = Instant::now() + WAIT;
    let eos = loop {
        if let Some(eos) = read(stream) {
            break Some(eos);
        }
        let ended = stream_events(stream).into_iter().find_map(|d| match d {
            proto::data_track_stream_event::Detail::Eos(e) => Some(e),
            _ => None,
        });
        if ended.is_some() || Instant::now() >= deadline {
            break ended;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let eos = eos.expect("the stream ends");
    assert_eq!(eos.error, None, "a normal end");

    drop_handle(stream);
    drop_handle(remote.handle.id);
    drop_handle(local.handle.id);
    leave(alice.room);
    leave(bob.room);
    assert_no_panic();
}

#[test]
fn tracks_of_those_already_in_the_room_are_announced_and_leaving_unpublishes() {
    let server = TestServer::start();
    let name = "room-data-track-join";
    let alice = join(&server, "alice", name);
    let a = published(publish_track(alice.local, "a"));
    let b = published(publish_track(alice.local, "b"));
    assert_ne!(a.info.sid, b.info.sid);

    let carol = join(&server, "carol", name);
    let first = wait_remote_track(carol.room, "a");
    let second = wait_remote_track(carol.room, "b");
    assert_eq!(first.info.sid, a.info.sid);
    assert_eq!(second.publisher_identity, "alice");
    // They come after the connection state, like every room event.
    let events = room_events(carol.room);
    let connected = events
        .iter()
        .position(|m| matches!(m, RoomEv::ConnectionStateChanged(_)))
        .expect("connection state");
    let announced = events
        .iter()
        .position(|m| matches!(m, RoomEv::DataTrackPublished(_)))
        .expect("announced");
    assert!(connected < announced);

    // Dropping a local track's handle unpublishes it.
    drop_handle(a.handle.id);
    assert!(
        wait_unpublished(carol.room, &a.info.sid),
        "dropped handle unpublishes"
    );

    // When the publisher leaves, its tracks are unpublished and their
    // streams end (normally once subscribed, with Unpublished while the
    // subscription is still starting).
    let stream = subscribe(second.handle.id);
    assert_eq!(read(stream), None);
    leave(alice.room);
    assert!(
        wait_unpublished(carol.room, &b.info.sid),
        "leaving unpublishes"
    );
    let ended = wait_event(WAIT, |m| match m {
        Ev::DataTrackStreamEvent(e) if e.stream_handle == stream => match &e.detail {
            Some(proto::data_track_stream_event::Detail::Eos(eos)) => Some(eos.clone()),
            _ => None,
        },
        _ => None,
    });
    assert!(ended.is_some(), "the stream ends");
    assert!(!remote_is_published(second.handle.id));
    // Subscribing to a track that is gone fails at once.
    let late = subscribe(second.handle.id);
    let eos = wait_event(WAIT, |m| match m {
        Ev::DataTrackStreamEvent(e) if e.stream_handle == late => match &e.detail {
            Some(proto::data_track_stream_event::Detail::Eos(eos)) => Some(eos.clone()),
            _ => None,
        },
        _ => None,
    })
    .expect("an EOS");
    assert_eq!(
        eos.error.map(|e| e.code),
        Some(proto::SubscribeDataTrackErrorCode::Unpublished as i32)
    );
    // Reads after the end repeat the EOS in the response.
    assert!(read(late).is_some());

    for handle in [stream, late, first.handle.id, second.handle.id, b.handle.id] {
        drop_handle(handle);
    }
    leave(carol.room);
    assert_no_panic();
}

#[test]
fn refusals_come_back_as_errors() {
    let server = TestServer::start();
    let name = "room-data-track-errors";
    let alice = join(&server, "alice", name);
    let track = published(publish_track(alice.local, "dup"));

    let code = |result| publish_error(result).code;
    assert_eq!(
        code(publish_track(alice.local, "dup")),
        proto::PublishDataTrackErrorCode::DuplicateName as i32
    );
    assert_eq!(
        code(publish_track(alice.local, "")),
        proto::PublishDataTrackErrorCode::InvalidName as i32
    );
    assert_eq!(
        code(publish_track(alice.local, &"x".repeat(300))),
        proto::PublishDataTrackErrorCode::InvalidName as i32
    );
    // A schema without a frame encoding is refused before asking.
    let schema_only = proto::DataTrackOptions {
        name: "typed".into(),
        schema: Some(proto::DataTrackSchemaId {
            name: "Pose".into(),
            encoding: None,
        }),
        frame_encoding: None,
    };
    assert_eq!(
        code(publish_track_with(alice.local, schema_only)),
        proto::PublishDataTrackErrorCode::InvalidSchema as i32
    );
    // A self-describing encoding needs no schema, and is announced.
    let json = proto::DataTrackOptions {
        name: "json".into(),
        schema: None,
        frame_encoding: Some(proto::DataTrackFrameEncoding {
            encoding: Some(proto::data_track_frame_encoding::Encoding::WellKnown(
                proto::data_track_frame_encoding::WellKnownFrameEncoding::Json as i32,
            )),
        }),
    };
    let typed = published(publish_track_with(alice.local, json.clone()));
    assert_eq!(typed.info.frame_encoding, json.frame_encoding);

    // Without canPublishData.
    let token = server
        .access_token()
        .with_identity("mute")
        .with_grants(livekit_test_server::VideoGrants {
            room_join: true,
            room: name.into(),
            can_publish_data: Some(false),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    let mute = join_with_token(&server, &token);
    assert_eq!(
        code(publish_track(mute.local, "nope")),
        proto::PublishDataTrackErrorCode::NotAllowed as i32
    );

    // Bad handles are refused, not crashes.
    assert!(
        try_request(Req::LocalDataTrackTryPush(
            proto::LocalDataTrackTryPushRequest {
                track_handle: alice.local,
                frame: proto::DataTrackFrame::default(),
            }
        ))
        .is_none()
    );
    assert!(
        try_request(Req::DataTrackStreamRead(
            proto::DataTrackStreamReadRequest {
                stream_handle: 987_654_321,
            }
        ))
        .is_none()
    );

    drop_handle(track.handle.id);
    drop_handle(typed.handle.id);
    leave(mute.room);
    leave(alice.room);
    assert_no_panic();
}
