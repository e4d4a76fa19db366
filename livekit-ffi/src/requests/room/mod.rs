//! Rooms on the FFI: the objects behind room, participant and publication
//! handles, and the requests that act on them.
//!
//! - [`connect`]: ConnectRequest, the callback, the wait for
//!   ReadyForRoomEvent and the start of event forwarding.
//! - [`events`]: engine events to `RoomEvent`s, with handles minted for
//!   the participants and publications they introduce.
//! - [`local`]: what the local participant can do (data, metadata, …).
//! - [`streams`]: data streams: sending, writers, and the readers handed
//!   out in stream-opened events.

mod connect;
pub mod data_tracks;
mod events;
mod local;
mod media;
mod streams;

use std::sync::{Arc, Weak};
use std::time::Duration;

use livekit_core::room::{Room, SimulateScenario};
use tokio::sync::{Notify, watch};

pub use connect::connect;
pub use local::{
    edit_chat_message, publish_data, publish_sip_dtmf, publish_transcription, send_chat_message,
    set_attributes, set_dc_threshold, set_metadata, set_name,
};
pub use media::{
    enable_publication, publish_track, rooms_publishing, set_permissions, set_subscribed,
    unpublish_track,
};
pub use streams::{
    byte_read_all, byte_read_incremental, byte_stream_close, byte_stream_open, byte_stream_write,
    byte_write_to_file, send_bytes, send_file, send_stream_chunk, send_stream_header,
    send_stream_trailer, send_text, text_read_all, text_read_incremental, text_stream_close,
    text_stream_open, text_stream_write,
};

use super::{async_id, reply_later};
use crate::convert;
use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandleId;
use crate::proto::{self, ffi_event::Message as Event};
use crate::server::FfiServer;

/// The object behind a room handle.
pub struct FfiRoom {
    /// The engine's room.
    pub room: Room,
    /// The room's own handle, named in every event.
    pub handle: FfiHandleId,
    /// Set by ReadyForRoomEvent; event forwarding waits for it.
    ready: Notify,
    /// Becomes true once RoomEOS has been sent.
    eos: watch::Sender<bool>,
    /// Reports data sends in request order.
    send_reports: tokio::sync::mpsc::UnboundedSender<local::PendingSend>,
    /// Orders publish callbacks and events.
    media: media::MediaSync,
}

/// The object behind a participant handle. It names the participant by
/// identity and does not keep the room alive.
pub struct FfiParticipant {
    /// The room the participant is in.
    pub room: Weak<FfiRoom>,
    /// Who it is. Remote participants' requests (track subscription)
    /// look them up by it.
    pub identity: String,
    /// Whether this is us.
    pub local: bool,
}

impl FfiParticipant {
    /// The room, if it still exists.
    fn room(&self) -> FfiResult<Arc<FfiRoom>> {
        self.room
            .upgrade()
            .ok_or_else(|| FfiError::Engine("the room is closed".into()))
    }
}

/// The object behind a track publication handle, read by the
/// subscription requests.
pub struct FfiPublication {
    /// The room the publication is in.
    pub room: Weak<FfiRoom>,
    /// The track's SID.
    pub sid: String,
}

/// Look up a local participant handle and its room.
fn local_room(server: &FfiServer, handle: FfiHandleId) -> FfiResult<Arc<FfiRoom>> {
    let participant = server.handles.get::<FfiParticipant>(handle)?;
    if !participant.local {
        return Err(FfiError::invalid(format!(
            "participant handle {handle} is not the local participant"
        )));
    }
    participant.room()
}

/// `ReadyForRoomEventRequest`: the host's listener is installed, so events
/// may flow. A Ready that comes before the wait starts is kept.
pub fn ready(
    server: &FfiServer,
    request: proto::ReadyForRoomEventRequest,
) -> FfiResult<proto::ReadyForRoomEventResponse> {
    server
        .handles
        .get::<FfiRoom>(request.room_handle)?
        .ready
        .notify_one();
    Ok(proto::ReadyForRoomEventResponse {})
}

/// `DisconnectRequest`: leave, then answer after the room's events ended.
pub fn disconnect(
    server: &'static FfiServer,
    request: proto::DisconnectRequest,
) -> FfiResult<proto::DisconnectResponse> {
    let room = server.handles.get::<FfiRoom>(request.room_handle)?;
    let reason = request
        .reason
        .and_then(|r| proto::DisconnectReason::try_from(r).ok())
        .unwrap_or(proto::DisconnectReason::ClientInitiated);
    let reason = convert::participant::disconnect_reason_from_ffi(reason) as i32;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        room.room.disconnect(reason).await;
        // RoomEOS goes out when the forwarder drains the event stream, and
        // must come before this callback.
        let mut eos = room.eos.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), eos.wait_for(|sent| *sent)).await;
        Event::Disconnect(proto::DisconnectCallback { async_id })
    });
    Ok(proto::DisconnectResponse { async_id })
}

/// `GetSessionStatsRequest`.
pub fn session_stats(
    server: &'static FfiServer,
    request: proto::GetSessionStatsRequest,
) -> FfiResult<proto::GetSessionStatsResponse> {
    let room = server.handles.get::<FfiRoom>(request.room_handle)?;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let message = if room.room.is_closed() {
            proto::get_session_stats_callback::Message::Error("the room is closed".into())
        } else {
            let (publisher, subscriber) = room.room.session_stats().await;
            proto::get_session_stats_callback::Message::Result(
                proto::get_session_stats_callback::Result {
                    publisher_stats: convert::stats::transport_stats_to_ffi(publisher),
                    subscriber_stats: convert::stats::transport_stats_to_ffi(subscriber),
                },
            )
        };
        Event::GetSessionStats(proto::GetSessionStatsCallback {
            async_id,
            message: Some(message),
        })
    });
    Ok(proto::GetSessionStatsResponse { async_id })
}

/// `SimulateScenarioRequest`: set the scenario off; the callback says
/// whether it could be, and the recovery shows as room events.
pub fn simulate_scenario(
    server: &'static FfiServer,
    request: proto::SimulateScenarioRequest,
) -> FfiResult<proto::SimulateScenarioResponse> {
    let room = server.handles.get::<FfiRoom>(request.room_handle)?;
    let scenario = scenario_from_ffi(request.scenario)?;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let outcome = room.room.simulate_scenario(scenario).await;
        let error = outcome.err().map(|e| e.to_string());
        Event::SimulateScenario(proto::SimulateScenarioCallback { async_id, error })
    });
    Ok(proto::SimulateScenarioResponse { async_id })
}

fn scenario_from_ffi(kind: i32) -> FfiResult<SimulateScenario> {
    use proto::SimulateScenarioKind as K;
    let kind = K::try_from(kind)
        .map_err(|_| FfiError::invalid(format!("unknown simulate scenario {kind}")))?;
    Ok(match kind {
        K::SimulateSignalReconnect => SimulateScenario::SignalReconnect,
        K::SimulateSpeaker => SimulateScenario::Speaker,
        K::SimulateNodeFailure => SimulateScenario::NodeFailure,
        K::SimulateServerLeave => SimulateScenario::ServerLeave,
        K::SimulateMigration => SimulateScenario::Migration,
        K::SimulateForceTcp => SimulateScenario::ForceTcp,
        K::SimulateForceTls => SimulateScenario::ForceTls,
        K::SimulateFullReconnect => SimulateScenario::FullReconnect,
        K::SimulateDisconnectSignalOnResume => SimulateScenario::DisconnectSignalOnResume,
    })
}

/// Every room ever connected, to close them on Dispose.
static ROOMS: parking_lot::Mutex<Vec<Weak<FfiRoom>>> = parking_lot::Mutex::new(Vec::new());

/// Remember a connected room for [`close_all`].
fn register(room: &Arc<FfiRoom>) {
    let mut rooms = ROOMS.lock();
    rooms.retain(|r| r.strong_count() > 0);
    rooms.push(Arc::downgrade(room));
}

/// Every room still open.
fn rooms() -> Vec<Arc<FfiRoom>> {
    ROOMS.lock().iter().filter_map(|r| r.upgrade()).collect()
}

/// Leave every room, waiting (bounded) for each to close. Called on
/// Dispose, usually from the host's exit hook, off the runtime's threads.
pub fn close_all(server: &FfiServer) {
    let rooms: Vec<Arc<FfiRoom>> = ROOMS.lock().drain(..).filter_map(|r| r.upgrade()).collect();
    if rooms.is_empty() {
        return;
    }
    let close = async move {
        for room in rooms {
            room.room.disconnect(lp_reason_client()).await;
        }
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        // On a runtime thread we cannot block; close in the background.
        server.runtime().spawn(close);
    } else {
        let _ = server
            .runtime()
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), close).await });
    }
}

fn lp_reason_client() -> i32 {
    livekit_protocol::DisconnectReason::ClientInitiated as i32
}
