//! Rooms on a real livekit-server, driven through the C ABI: connect, wait
//! for a room's events by its handle, publish data, leave.
//!
//! The library is one per process, so every test binary shares it; events
//! are told apart by `async_id` and `room_handle`, and each test uses its own
//! server and room name.

use std::time::{Duration, Instant};

use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as RoomEv,
};
pub use livekit_test_server::TestServer;

use super::*;

/// A generous bound for anything that crosses the server: participant
/// join and leave updates are batched (about every 3 s).
pub const WAIT: Duration = Duration::from_secs(20);

/// A connected room as the ConnectCallback described it.
pub struct Joined {
    /// The room handle, named by every event of this room.
    pub room: u64,
    /// Our local participant handle.
    pub local: u64,
    /// Our identity.
    pub identity: String,
    /// The callback's result, as received.
    pub result: proto::connect_callback::Result,
    /// The Connect request's async id.
    pub async_id: u64,
}

/// Sends ConnectRequest with default options; returns the async id.
pub fn start_connect(url: &str, token: &str) -> u64 {
    let Res::Connect(r) = request(Req::Connect(proto::ConnectRequest {
        url: url.into(),
        token: token.into(),
        options: proto::RoomOptions::default(),
        request_async_id: None,
    })) else {
        panic!("ConnectRequest answered with another response")
    };
    assert_ne!(r.async_id, 0);
    r.async_id
}

/// Waits for the ConnectCallback of `async_id`.
pub fn connect_outcome(async_id: u64, timeout: Duration) -> proto::connect_callback::Message {
    wait_event(timeout, |m| match m {
        Ev::Connect(cb) if cb.async_id == async_id => Some(cb.message.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no ConnectCallback for {async_id} within {timeout:?}"))
    .expect("the ConnectCallback carries a result or an error")
}

/// Connects with `token` and returns the room, not yet Ready.
pub fn connect_unready(url: &str, token: &str) -> Joined {
    let async_id = start_connect(url, token);
    match connect_outcome(async_id, WAIT) {
        proto::connect_callback::Message::Result(result) => Joined {
            room: result.room.handle.id,
            local: result.local_participant.handle.id,
            identity: result.local_participant.info.identity.clone(),
            result,
            async_id,
        },
        proto::connect_callback::Message::Error(e) => panic!("connect failed: {e}"),
    }
}

/// Says the listener for `room` is installed.
pub fn ready(room: u64) {
    let Res::ReadyForRoomEvent(_) =
        request(Req::ReadyForRoomEvent(proto::ReadyForRoomEventRequest {
            room_handle: room,
        }))
    else {
        panic!("ReadyForRoomEvent answered with another response")
    };
}

/// Joins `room_name` as `identity` with the server's default token, Ready.
pub fn join(server: &TestServer, identity: &str, room_name: &str) -> Joined {
    join_with_token(server, &server.token(identity, room_name))
}

/// Joins with `token` and sends Ready.
pub fn join_with_token(server: &TestServer, token: &str) -> Joined {
    let joined = connect_unready(&server.url(), token);
    ready(joined.room);
    joined
}

/// Every event of `room` so far, in delivery order.
pub fn room_events(room: u64) -> Vec<RoomEv> {
    collect_events(|m| match m {
        Ev::RoomEvent(e) if e.room_handle == room => e.message.clone(),
        _ => None,
    })
}

/// Waits for the first event of `room` that `pick` accepts.
pub fn wait_room_event<T>(
    room: u64,
    timeout: Duration,
    mut pick: impl FnMut(&RoomEv) -> Option<T>,
) -> Option<T> {
    wait_event(timeout, |m| match m {
        Ev::RoomEvent(e) if e.room_handle == room => e.message.as_ref().and_then(&mut pick),
        _ => None,
    })
}

/// Waits until `room` has delivered `count` events that `pick` accepts;
/// returns them in order (fewer if the time ran out).
pub fn wait_room_events<T>(
    room: u64,
    count: usize,
    timeout: Duration,
    mut pick: impl FnMut(&RoomEv) -> Option<T>,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let found: Vec<T> = room_events(room).iter().filter_map(&mut pick).collect();
        if found.len() >= count || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `room` has sent RoomEOS.
pub fn wait_eos(room: u64, timeout: Duration) -> bool {
    wait_room_event(room, timeout, |m| matches!(m, RoomEv::Eos(_)).then_some(())).is_some()
}

/// Sends DisconnectRequest; returns its async id.
pub fn start_disconnect(room: u64) -> u64 {
    let Res::Disconnect(r) = request(Req::Disconnect(proto::DisconnectRequest {
        room_handle: room,
        request_async_id: None,
        reason: None,
    })) else {
        panic!("DisconnectRequest answered with another response")
    };
    assert_ne!(r.async_id, 0);
    r.async_id
}

/// Waits for the DisconnectCallback of `async_id`.
pub fn wait_disconnected(async_id: u64, timeout: Duration) -> bool {
    wait_event(timeout, |m| match m {
        Ev::Disconnect(cb) if cb.async_id == async_id => Some(()),
        _ => None,
    })
    .is_some()
}

/// Leaves `room` and waits for the callback.
pub fn leave(room: u64) {
    let id = start_disconnect(room);
    assert!(wait_disconnected(id, WAIT), "no DisconnectCallback");
}

/// Sends PublishDataRequest; returns its async id.
pub fn start_publish(
    local: u64,
    payload: &[u8],
    reliable: bool,
    topic: Option<&str>,
    destinations: &[&str],
) -> u64 {
    let Res::PublishData(r) = request(Req::PublishData(proto::PublishDataRequest {
        local_participant_handle: local,
        data_ptr: payload.as_ptr() as u64,
        data_len: payload.len() as u64,
        reliable,
        topic: topic.map(str::to_owned),
        destination_identities: destinations.iter().map(|s| s.to_string()).collect(),
        request_async_id: None,
        ..Default::default()
    })) else {
        panic!("PublishDataRequest answered with another response")
    };
    assert_ne!(r.async_id, 0);
    r.async_id
}

/// Waits for the PublishDataCallback of `async_id`: its error, if any.
pub fn publish_outcome(async_id: u64, timeout: Duration) -> Option<String> {
    wait_event(timeout, |m| match m {
        Ev::PublishData(cb) if cb.async_id == async_id => Some(cb.error.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no PublishDataCallback for {async_id} within {timeout:?}"))
}

/// Publishes and asserts the callback reports success.
pub fn publish(local: u64, payload: &[u8], reliable: bool, topic: Option<&str>, to: &[&str]) {
    let id = start_publish(local, payload, reliable, topic, to);
    if let Some(error) = publish_outcome(id, WAIT) {
        panic!("publish failed: {error}");
    }
}

/// A received user packet, its buffer read and its handle dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub identity: String,
    pub kind: i32,
    pub topic: Option<String>,
    pub payload: Vec<u8>,
}

/// The user packets `room` received so far whose topic is `topic`, with
/// their buffers still held: (packet, buffer handle).
pub fn user_packets(room: u64, topic: &str) -> Vec<(proto::DataPacketReceived, u64)> {
    room_events(room)
        .into_iter()
        .filter_map(|m| match m {
            RoomEv::DataPacketReceived(p) => match &p.value {
                Some(proto::data_packet_received::Value::User(u))
                    if u.topic.as_deref() == Some(topic) =>
                {
                    let handle = u.data.handle.id;
                    Some((p, handle))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Reads a received user packet's bytes and drops its buffer handle,
/// which must drop exactly once.
pub fn take_packet(packet: &proto::DataPacketReceived) -> Received {
    let Some(proto::data_packet_received::Value::User(user)) = &packet.value else {
        panic!("not a user packet: {packet:?}")
    };
    let info = &user.data.data;
    let payload = if info.data_len == 0 {
        Vec::new()
    } else {
        assert_ne!(info.data_ptr, 0, "a non-empty buffer has a pointer");
        // SAFETY: the library keeps the buffer alive until its handle drops.
        unsafe { std::slice::from_raw_parts(info.data_ptr as *const u8, info.data_len as usize) }
            .to_vec()
    };
    let id = user.data.handle.id;
    assert_ne!(id, 0);
    assert!(
        livekit_ffi::livekit_ffi_drop_handle(id),
        "buffer handle {id} drops"
    );
    assert!(
        !livekit_ffi::livekit_ffi_drop_handle(id),
        "buffer handle {id} drops only once"
    );
    Received {
        identity: packet.participant_identity.clone(),
        kind: packet.kind,
        topic: user.topic.clone(),
        payload,
    }
}

/// Waits until `room` knows `identity`: either it was in the ConnectCallback
/// or a participant_connected for it arrived.
pub fn wait_knows(joined: &Joined, identity: &str, timeout: Duration) -> bool {
    joined
        .result
        .participants
        .iter()
        .any(|p| p.participant.info.identity == identity)
        || wait_room_event(joined.room, timeout, |m| match m {
            RoomEv::ParticipantConnected(c) if c.info.info.identity == identity => Some(()),
            _ => None,
        })
        .is_some()
}

/// A short label of a room event, for assertion messages.
pub fn label(m: &RoomEv) -> String {
    let text = format!("{m:?}");
    text.chars().take(80).collect()
}
