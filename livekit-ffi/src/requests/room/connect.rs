//! ConnectRequest: join in the background, answer with the room and its
//! participants, then forward events once the host says it is listening.

use std::sync::Arc;
use std::time::Duration;

use livekit_core::room::{DataKind, Room, RoomOptions};
use livekit_core::transport::IceServer;
use livekit_protocol as lp;
use tokio::sync::{Notify, watch};

use super::{FfiParticipant, FfiPublication, FfiRoom, async_id, events};
use crate::convert;
use crate::proto;
use crate::server::FfiServer;

/// How long the host has to send ReadyForRoomEvent after ConnectCallback.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Engine options from the request; anything unset keeps the engine's
/// default, as the official library does.
fn room_options(server: &FfiServer, options: &proto::RoomOptions) -> RoomOptions {
    let mut out = RoomOptions::default();
    if let Some(config) = server.config() {
        out.sdk = config.sdk;
        out.sdk_version = config.sdk_version;
    }
    if let Some(v) = options.auto_subscribe {
        out.auto_subscribe = v;
    }
    if let Some(v) = options.adaptive_stream {
        out.adaptive_stream = v;
    }
    if let Some(v) = options.dynacast {
        out.dynacast = v;
    }
    if let Some(v) = options.join_retries {
        out.join_retries = v;
    }
    if let Some(ms) = options.connect_timeout_ms.filter(|&ms| ms > 0) {
        out.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(max) = options
        .data_stream
        .as_ref()
        .and_then(|d| d.max_payload_byte_length)
    {
        out.max_stream_payload = max;
    }
    if let Some(rtc) = &options.rtc_config {
        out.ice_servers = rtc
            .ice_servers
            .iter()
            .map(|s| IceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.password.clone().unwrap_or_default(),
            })
            .collect();
        out.relay_only =
            rtc.ice_transport_type == Some(proto::IceTransportType::TransportRelay as i32);
    }
    out
}

/// `ConnectRequest`.
pub fn connect(
    server: &'static FfiServer,
    request: proto::ConnectRequest,
) -> proto::ConnectResponse {
    let async_id = async_id(server, request.request_async_id);
    let options = room_options(server, &request.options);
    server.runtime().spawn(async move {
        let joined = Room::connect(&request.url, &request.token, options).await;
        let (room, events) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                log::error!("failed to connect to {}: {err}", request.url);
                send_callback(
                    server,
                    async_id,
                    proto::connect_callback::Message::Error(err.to_string()),
                );
                return;
            }
        };
        let handle = server.handles.next_id();
        let ffi_room = Arc::new(FfiRoom {
            room,
            handle,
            ready: Notify::new(),
            eos: watch::channel(false).0,
            send_reports: super::local::spawn_send_reporter(server),
            media: Default::default(),
        });
        server.handles.insert_with_id(handle, ffi_room.clone());
        super::register(&ffi_room);
        let result = connect_result(server, &ffi_room);
        send_callback(
            server,
            async_id,
            proto::connect_callback::Message::Result(result),
        );

        if tokio::time::timeout(READY_TIMEOUT, ffi_room.ready.notified())
            .await
            .is_err()
        {
            log::error!(
                "the host did not send ReadyForRoomEvent within 15 s; closing room {handle}"
            );
            ffi_room
                .room
                .disconnect(lp::DisconnectReason::ConnectionTimeout as i32)
                .await;
            server.handles.retire(handle);
            return;
        }
        events::forward(server, ffi_room, events).await;
    });
    proto::ConnectResponse { async_id }
}

fn send_callback(server: &FfiServer, async_id: u64, message: proto::connect_callback::Message) {
    server.send_event(proto::ffi_event::Message::Connect(proto::ConnectCallback {
        async_id,
        message: Some(message),
    }));
}

/// The room, us, and everyone already there with their publications.
fn connect_result(server: &FfiServer, ffi_room: &Arc<FfiRoom>) -> proto::connect_callback::Result {
    let room = &ffi_room.room;
    let local = room.local_participant();
    let participants = room
        .remote_participants()
        .iter()
        .map(|info| proto::connect_callback::ParticipantWithTracks {
            participant: owned_participant(server, ffi_room, info, false),
            publications: info
                .tracks
                .iter()
                .map(|track| owned_publication(server, ffi_room, track, true))
                .collect(),
        })
        .collect();
    proto::connect_callback::Result {
        room: proto::OwnedRoom {
            handle: proto::FfiOwnedHandle {
                id: ffi_room.handle,
            },
            info: room_info(ffi_room),
        },
        local_participant: owned_participant(server, ffi_room, &local, true),
        participants,
    }
}

/// The room's info with its current data-channel thresholds.
pub(super) fn room_info(ffi_room: &FfiRoom) -> proto::RoomInfo {
    let room = &ffi_room.room;
    convert::room::room_info_to_ffi(
        &room.info(),
        room.buffered_amount_low_threshold(DataKind::Lossy),
        room.buffered_amount_low_threshold(DataKind::Reliable),
    )
}

/// A new participant handle.
pub(super) fn owned_participant(
    server: &FfiServer,
    ffi_room: &Arc<FfiRoom>,
    info: &lp::ParticipantInfo,
    local: bool,
) -> proto::OwnedParticipant {
    let id = server.handles.insert(FfiParticipant {
        room: Arc::downgrade(ffi_room),
        identity: info.identity.clone(),
        local,
    });
    proto::OwnedParticipant {
        handle: proto::FfiOwnedHandle { id },
        info: convert::participant::participant_info_to_ffi(info),
    }
}

/// A new publication handle.
pub(super) fn owned_publication(
    server: &FfiServer,
    ffi_room: &Arc<FfiRoom>,
    track: &lp::TrackInfo,
    remote: bool,
) -> proto::OwnedTrackPublication {
    let id = server.handles.insert(FfiPublication {
        room: Arc::downgrade(ffi_room),
        sid: track.sid.clone(),
    });
    proto::OwnedTrackPublication {
        handle: proto::FfiOwnedHandle { id },
        info: convert::track::track_publication_info_to_ffi(track, remote),
    }
}
