//! Forwarding a room's events to the host, one at a time and in order,
//! ending with RoomEOS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use livekit_core::room::{ConnectionState, DataKind, RoomEvent};
use livekit_protocol as lp;
use tokio::sync::mpsc;

use super::FfiRoom;
use super::connect::{owned_participant, owned_publication, room_info};
use crate::convert;
use crate::proto::{self, room_event::Message as Ev};
use crate::server::FfiServer;

/// Forward until the engine's stream ends, then send RoomEOS.
pub(super) async fn forward(
    server: &'static FfiServer,
    ffi_room: Arc<FfiRoom>,
    mut events: mpsc::UnboundedReceiver<RoomEvent>,
) {
    let mut reconnecting = false;
    while let Some(event) = events.recv().await {
        let started = Instant::now();
        match &event {
            RoomEvent::Reconnecting => reconnecting = true,
            RoomEvent::Reconnected => reconnecting = false,
            _ => {}
        }
        if reconnecting && suppressed_while_reconnecting(&event) {
            continue;
        }
        // Brief §3: the PublishTrack callback goes out first.
        if let RoomEvent::LocalTrackPublished { track } = &event {
            ffi_room.media.wait_published(&track.sid).await;
        }
        let unpublished = match &event {
            RoomEvent::LocalTrackUnpublished { sid } => Some(sid.clone()),
            _ => None,
        };
        if let Some(message) = to_ffi(server, &ffi_room, event) {
            send(server, &ffi_room, message);
        }
        if let Some(sid) = unpublished {
            ffi_room.media.mark_unpublished(&sid);
        }
        if started.elapsed() > Duration::from_secs(10) {
            log::warn!("delivering a room event took {:?}", started.elapsed());
        }
    }
    send(server, &ffi_room, Ev::Eos(proto::RoomEos {}));
    ffi_room.eos.send_replace(true);
}

/// Brief §3: between Reconnecting and Reconnected the official library
/// drops these, so that what a reconnect re-announces about our own tracks
/// does not reach the host as new publications.
fn suppressed_while_reconnecting(event: &RoomEvent) -> bool {
    matches!(
        event,
        RoomEvent::LocalTrackPublished { .. }
            | RoomEvent::LocalTrackUnpublished { .. }
            | RoomEvent::LocalTrackSubscribed { .. }
    )
}

fn send(server: &FfiServer, ffi_room: &FfiRoom, message: Ev) {
    server.send_event(proto::ffi_event::Message::RoomEvent(proto::RoomEvent {
        room_handle: ffi_room.handle,
        message: Some(message),
    }));
}

fn kind_to_ffi(kind: DataKind) -> proto::DataPacketKind {
    match kind {
        DataKind::Lossy => proto::DataPacketKind::KindLossy,
        DataKind::Reliable => proto::DataPacketKind::KindReliable,
    }
}

fn reason_to_ffi(reason: i32) -> i32 {
    let reason =
        lp::DisconnectReason::try_from(reason).unwrap_or(lp::DisconnectReason::UnknownReason);
    convert::participant::disconnect_reason_to_ffi(reason) as i32
}

fn entries(map: &std::collections::HashMap<String, String>) -> Vec<proto::AttributesEntry> {
    let mut entries: Vec<_> = map
        .iter()
        .map(|(key, value)| proto::AttributesEntry {
            key: key.clone(),
            value: value.clone(),
        })
        .collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

/// A received payload as a buffer the host reads and then drops.
fn owned_buffer(server: &FfiServer, payload: Vec<u8>) -> proto::OwnedBuffer {
    let payload = payload.into_boxed_slice();
    let data = proto::BufferInfo {
        data_ptr: payload.as_ptr() as u64,
        data_len: payload.len() as u64,
    };
    let id = server.handles.insert(payload);
    proto::OwnedBuffer {
        handle: proto::FfiOwnedHandle { id },
        data,
    }
}

/// The protocol message for one engine event; `None` for events the
/// protocol has no message for.
fn to_ffi(server: &FfiServer, ffi_room: &Arc<FfiRoom>, event: RoomEvent) -> Option<Ev> {
    Some(match event {
        RoomEvent::ConnectionStateChanged(state) => {
            Ev::ConnectionStateChanged(proto::ConnectionStateChanged {
                state: match state {
                    ConnectionState::Disconnected => proto::ConnectionState::ConnDisconnected,
                    ConnectionState::Connected => proto::ConnectionState::ConnConnected,
                    ConnectionState::Reconnecting => proto::ConnectionState::ConnReconnecting,
                } as i32,
            })
        }
        RoomEvent::RoomSidChanged(sid) => Ev::RoomSidChanged(proto::RoomSidChanged { sid }),
        RoomEvent::RoomMetadataChanged(metadata) => {
            Ev::RoomMetadataChanged(proto::RoomMetadataChanged { metadata })
        }
        RoomEvent::RoomUpdated(_) => Ev::RoomUpdated(room_info(ffi_room)),
        RoomEvent::ParticipantConnected(info) => {
            Ev::ParticipantConnected(proto::ParticipantConnected {
                info: owned_participant(server, ffi_room, &info, false),
            })
        }
        RoomEvent::ParticipantDisconnected { identity, reason } => {
            Ev::ParticipantDisconnected(proto::ParticipantDisconnected {
                participant_identity: identity,
                disconnect_reason: reason_to_ffi(reason),
            })
        }
        RoomEvent::ParticipantActive(identity) => Ev::ParticipantActive(proto::ParticipantActive {
            participant_identity: identity,
        }),
        RoomEvent::ParticipantsUpdated(infos) => {
            Ev::ParticipantsUpdated(proto::ParticipantsUpdated {
                participants: infos
                    .iter()
                    .map(convert::participant::participant_info_to_ffi)
                    .collect(),
            })
        }
        RoomEvent::ParticipantMetadataChanged { identity, metadata } => {
            Ev::ParticipantMetadataChanged(proto::ParticipantMetadataChanged {
                participant_identity: identity,
                metadata,
            })
        }
        RoomEvent::ParticipantNameChanged { identity, name } => {
            Ev::ParticipantNameChanged(proto::ParticipantNameChanged {
                participant_identity: identity,
                name,
            })
        }
        RoomEvent::ParticipantAttributesChanged {
            identity,
            attributes,
            changed,
        } => Ev::ParticipantAttributesChanged(proto::ParticipantAttributesChanged {
            participant_identity: identity,
            attributes: entries(&attributes),
            changed_attributes: entries(&changed),
        }),
        RoomEvent::ParticipantPermissionChanged {
            identity,
            permission,
        } => Ev::ParticipantPermissionChanged(proto::ParticipantPermissionChanged {
            participant_identity: identity,
            permission: permission
                .as_ref()
                .map(convert::participant::participant_permission_to_ffi),
        }),
        RoomEvent::TrackPublished { identity, track } => {
            Ev::TrackPublished(proto::TrackPublished {
                publication: owned_publication(server, ffi_room, &track, true),
                participant_identity: identity,
            })
        }
        RoomEvent::TrackUnpublished { identity, sid } => {
            Ev::TrackUnpublished(proto::TrackUnpublished {
                participant_identity: identity,
                publication_sid: sid,
            })
        }
        RoomEvent::LocalTrackPublished { track } => {
            Ev::LocalTrackPublished(proto::LocalTrackPublished {
                track_sid: track.sid,
            })
        }
        RoomEvent::LocalTrackUnpublished { sid } => {
            Ev::LocalTrackUnpublished(proto::LocalTrackUnpublished {
                publication_sid: sid,
            })
        }
        RoomEvent::LocalTrackRepublished {
            previous_sid,
            track,
        } => {
            // A new handle, as the official library mints; the SDKs find
            // their publication object by `previous_sid`.
            let publication = owned_publication(server, ffi_room, &track, false);
            Ev::LocalTrackRepublished(proto::LocalTrackRepublished {
                publication_handle: publication.handle.id,
                previous_sid,
                info: publication.info,
            })
        }
        RoomEvent::LocalTrackSubscribed { sid } => {
            Ev::LocalTrackSubscribed(proto::LocalTrackSubscribed { track_sid: sid })
        }
        RoomEvent::TrackSubscribed {
            identity,
            info,
            track,
        } => Ev::TrackSubscribed(proto::TrackSubscribed {
            participant_identity: identity,
            track: crate::requests::track::owned_remote_audio(
                server,
                Arc::downgrade(ffi_room),
                track,
                &info,
            ),
        }),
        RoomEvent::TrackUnsubscribed { identity, sid } => {
            Ev::TrackUnsubscribed(proto::TrackUnsubscribed {
                participant_identity: identity,
                track_sid: sid,
            })
        }
        RoomEvent::TrackSubscriptionFailed {
            identity,
            sid,
            error,
        } => Ev::TrackSubscriptionFailed(proto::TrackSubscriptionFailed {
            participant_identity: identity,
            track_sid: sid,
            error,
        }),
        RoomEvent::TrackMuted { identity, sid } => Ev::TrackMuted(proto::TrackMuted {
            participant_identity: identity,
            track_sid: sid,
        }),
        RoomEvent::TrackUnmuted { identity, sid } => Ev::TrackUnmuted(proto::TrackUnmuted {
            participant_identity: identity,
            track_sid: sid,
        }),
        RoomEvent::ActiveSpeakersChanged(identities) => {
            Ev::ActiveSpeakersChanged(proto::ActiveSpeakersChanged {
                participant_identities: identities,
            })
        }
        RoomEvent::ConnectionQualityChanged { identity, quality } => {
            let quality =
                lp::ConnectionQuality::try_from(quality).unwrap_or(lp::ConnectionQuality::Poor);
            Ev::ConnectionQualityChanged(proto::ConnectionQualityChanged {
                participant_identity: identity,
                quality: convert::participant::connection_quality_to_ffi(quality) as i32,
            })
        }
        RoomEvent::DataReceived {
            identity,
            kind,
            payload,
            topic,
        } => Ev::DataPacketReceived(proto::DataPacketReceived {
            kind: kind_to_ffi(kind) as i32,
            participant_identity: identity,
            value: Some(proto::data_packet_received::Value::User(
                proto::UserPacket {
                    data: owned_buffer(server, payload),
                    topic,
                },
            )),
        }),
        RoomEvent::SipDtmfReceived {
            identity,
            kind,
            code,
            digit,
        } => Ev::DataPacketReceived(proto::DataPacketReceived {
            kind: kind_to_ffi(kind) as i32,
            participant_identity: identity,
            value: Some(proto::data_packet_received::Value::SipDtmf(
                convert::data::sip_dtmf_to_ffi(lp::SipDtmf { code, digit }),
            )),
        }),
        RoomEvent::TranscriptionReceived {
            identity,
            track_sid,
            segments,
        } => Ev::TranscriptionReceived(proto::TranscriptionReceived {
            participant_identity: identity,
            track_sid: Some(track_sid).filter(|s| !s.is_empty()),
            segments: segments
                .into_iter()
                .map(convert::data::transcription_segment_to_ffi)
                .collect(),
        }),
        RoomEvent::ChatMessageReceived { identity, message } => {
            Ev::ChatMessage(proto::ChatMessageReceived {
                message: convert::data::chat_message_to_ffi(message),
                participant_identity: identity,
            })
        }
        RoomEvent::StreamHeaderReceived { identity, header } => {
            Ev::StreamHeaderReceived(proto::DataStreamHeaderReceived {
                participant_identity: identity,
                header: convert::data::stream_header_to_ffi(header),
            })
        }
        RoomEvent::StreamChunkReceived { identity, chunk } => {
            Ev::StreamChunkReceived(proto::DataStreamChunkReceived {
                participant_identity: identity,
                chunk: convert::data::stream_chunk_to_ffi(chunk),
            })
        }
        RoomEvent::StreamTrailerReceived { identity, trailer } => {
            Ev::StreamTrailerReceived(proto::DataStreamTrailerReceived {
                participant_identity: identity,
                trailer: convert::data::stream_trailer_to_ffi(trailer),
            })
        }
        RoomEvent::TextStreamOpened { identity, reader } => {
            return super::streams::text_stream_opened(server, identity, reader);
        }
        RoomEvent::ByteStreamOpened { identity, reader } => {
            return super::streams::byte_stream_opened(server, identity, reader);
        }
        RoomEvent::DataChannelThresholdChanged { kind, threshold } => {
            Ev::DataChannelLowThresholdChanged(
                proto::DataChannelBufferedAmountLowThresholdChanged {
                    kind: kind_to_ffi(kind) as i32,
                    threshold,
                },
            )
        }
        RoomEvent::DataTrackPublished(track) => super::data_tracks::published_event(server, track),
        RoomEvent::DataTrackUnpublished { sid, .. } => {
            Ev::DataTrackUnpublished(proto::DataTrackUnpublished { sid })
        }
        RoomEvent::Reconnecting => Ev::Reconnecting(proto::Reconnecting {}),
        RoomEvent::Reconnected => Ev::Reconnected(proto::Reconnected {}),
        RoomEvent::TokenRefreshed(token) => Ev::TokenRefreshed(proto::TokenRefreshed { token }),
        RoomEvent::Disconnected { reason } => Ev::Disconnected(proto::Disconnected {
            reason: reason_to_ffi(reason),
        }),
    })
}
