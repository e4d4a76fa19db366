//! Participants: info, kind, state, permission, disconnect reason and
//! connection quality.

use livekit_protocol as lp;
use livekit_protocol::participant_info::{Kind, KindDetail, State};

use super::track::track_source_to_ffi;
use crate::proto;

/// The FFI view of a participant as the server last described it.
///
/// Unknown enum values coming from a newer server degrade instead of
/// failing: the kind becomes `Standard`, the state `Joining`, the reason
/// `UnknownReason`, and unknown kind details or publish sources are left out.
/// `joined_at` is in milliseconds; a server that only fills the older
/// seconds field gets it scaled.
pub fn participant_info_to_ffi(info: &lp::ParticipantInfo) -> proto::ParticipantInfo {
    proto::ParticipantInfo {
        sid: info.sid.clone(),
        name: info.name.clone(),
        identity: info.identity.clone(),
        state: participant_state_to_ffi(info.state()) as i32,
        metadata: info.metadata.clone(),
        attributes: info.attributes.clone(),
        kind: participant_kind_to_ffi(info.kind()) as i32,
        disconnect_reason: disconnect_reason_to_ffi(info.disconnect_reason()) as i32,
        joined_at: joined_at_ms(info),
        kind_details: info
            .kind_details
            .iter()
            .filter_map(|&raw| KindDetail::try_from(raw).ok())
            .map(|detail| participant_kind_detail_to_ffi(detail) as i32)
            .collect(),
        permission: info.permission.as_ref().map(participant_permission_to_ffi),
        client_protocol: info.client_protocol,
    }
}

/// When the participant joined, in milliseconds since the Unix epoch.
fn joined_at_ms(info: &lp::ParticipantInfo) -> i64 {
    if info.joined_at_ms != 0 {
        info.joined_at_ms
    } else {
        info.joined_at.saturating_mul(1000)
    }
}

/// What the participant may do. The deprecated `recorder` and `agent` flags
/// have no FFI counterpart; unknown publish sources are dropped.
pub fn participant_permission_to_ffi(
    permission: &lp::ParticipantPermission,
) -> proto::ParticipantPermission {
    proto::ParticipantPermission {
        can_subscribe: permission.can_subscribe,
        can_publish: permission.can_publish,
        can_publish_data: permission.can_publish_data,
        can_publish_sources: permission
            .can_publish_sources
            .iter()
            .filter_map(|&raw| lp::TrackSource::try_from(raw).ok())
            .map(|source| track_source_to_ffi(source) as i32)
            .collect(),
        hidden: permission.hidden,
        can_update_metadata: permission.can_update_metadata,
        can_subscribe_metrics: permission.can_subscribe_metrics,
        can_manage_agent_session: permission.can_manage_agent_session,
    }
}

/// Participant kind. The two protocols number `Connector` and `Bridge`
/// differently (7 and 8 on the wire, 5 and 6 on the FFI), so this is a real
/// map, not a cast.
pub fn participant_kind_to_ffi(kind: Kind) -> proto::ParticipantKind {
    match kind {
        Kind::Standard => proto::ParticipantKind::Standard,
        Kind::Ingress => proto::ParticipantKind::Ingress,
        Kind::Egress => proto::ParticipantKind::Egress,
        Kind::Sip => proto::ParticipantKind::Sip,
        Kind::Agent => proto::ParticipantKind::Agent,
        Kind::Connector => proto::ParticipantKind::Connector,
        Kind::Bridge => proto::ParticipantKind::Bridge,
    }
}

/// Participant kind detail.
pub fn participant_kind_detail_to_ffi(detail: KindDetail) -> proto::ParticipantKindDetail {
    match detail {
        KindDetail::CloudAgent => proto::ParticipantKindDetail::CloudAgent,
        KindDetail::Forwarded => proto::ParticipantKindDetail::Forwarded,
        KindDetail::ConnectorWhatsapp => proto::ParticipantKindDetail::ConnectorWhatsapp,
        KindDetail::ConnectorTwilio => proto::ParticipantKindDetail::ConnectorTwilio,
        KindDetail::BridgeRtsp => proto::ParticipantKindDetail::BridgeRtsp,
        KindDetail::Simulation => proto::ParticipantKindDetail::Simulation,
    }
}

/// Participant state.
pub fn participant_state_to_ffi(state: State) -> proto::ParticipantState {
    match state {
        State::Joining => proto::ParticipantState::Joining,
        State::Joined => proto::ParticipantState::Joined,
        State::Active => proto::ParticipantState::Active,
        State::Disconnected => proto::ParticipantState::Disconnected,
    }
}

/// Why a participant (or we) left.
pub fn disconnect_reason_to_ffi(reason: lp::DisconnectReason) -> proto::DisconnectReason {
    use lp::DisconnectReason as R;
    use proto::DisconnectReason as F;
    match reason {
        R::UnknownReason => F::UnknownReason,
        R::ClientInitiated => F::ClientInitiated,
        R::DuplicateIdentity => F::DuplicateIdentity,
        R::ServerShutdown => F::ServerShutdown,
        R::ParticipantRemoved => F::ParticipantRemoved,
        R::RoomDeleted => F::RoomDeleted,
        R::StateMismatch => F::StateMismatch,
        R::JoinFailure => F::JoinFailure,
        R::Migration => F::Migration,
        R::SignalClose => F::SignalClose,
        R::RoomClosed => F::RoomClosed,
        R::UserUnavailable => F::UserUnavailable,
        R::UserRejected => F::UserRejected,
        R::SipTrunkFailure => F::SipTrunkFailure,
        R::ConnectionTimeout => F::ConnectionTimeout,
        R::MediaFailure => F::MediaFailure,
        R::AgentError => F::AgentError,
    }
}

/// The reason a host gives when it disconnects (`DisconnectRequest.reason`),
/// for the `LeaveRequest` we send.
pub fn disconnect_reason_from_ffi(reason: proto::DisconnectReason) -> lp::DisconnectReason {
    use lp::DisconnectReason as R;
    use proto::DisconnectReason as F;
    match reason {
        F::UnknownReason => R::UnknownReason,
        F::ClientInitiated => R::ClientInitiated,
        F::DuplicateIdentity => R::DuplicateIdentity,
        F::ServerShutdown => R::ServerShutdown,
        F::ParticipantRemoved => R::ParticipantRemoved,
        F::RoomDeleted => R::RoomDeleted,
        F::StateMismatch => R::StateMismatch,
        F::JoinFailure => R::JoinFailure,
        F::Migration => R::Migration,
        F::SignalClose => R::SignalClose,
        F::RoomClosed => R::RoomClosed,
        F::UserUnavailable => R::UserUnavailable,
        F::UserRejected => R::UserRejected,
        F::SipTrunkFailure => R::SipTrunkFailure,
        F::ConnectionTimeout => R::ConnectionTimeout,
        F::MediaFailure => R::MediaFailure,
        F::AgentError => R::AgentError,
    }
}

/// Connection quality from a `ConnectionQualityUpdate`.
pub fn connection_quality_to_ffi(quality: lp::ConnectionQuality) -> proto::ConnectionQuality {
    match quality {
        lp::ConnectionQuality::Poor => proto::ConnectionQuality::QualityPoor,
        lp::ConnectionQuality::Good => proto::ConnectionQuality::QualityGood,
        lp::ConnectionQuality::Excellent => proto::ConnectionQuality::QualityExcellent,
        lp::ConnectionQuality::Lost => proto::ConnectionQuality::QualityLost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sample_info() -> lp::ParticipantInfo {
        lp::ParticipantInfo {
            sid: "PA_abc".into(),
            identity: "alice".into(),
            name: "Alice".into(),
            state: State::Active as i32,
            metadata: "{\"m\":1}".into(),
            joined_at: 1_700_000_000,
            joined_at_ms: 1_700_000_000_123,
            attributes: HashMap::from([("k".to_string(), "v".to_string())]),
            kind: Kind::Agent as i32,
            disconnect_reason: lp::DisconnectReason::RoomClosed as i32,
            kind_details: vec![
                KindDetail::CloudAgent as i32,
                99,
                KindDetail::Simulation as i32,
            ],
            permission: Some(lp::ParticipantPermission {
                can_subscribe: true,
                can_publish: true,
                can_publish_data: false,
                can_publish_sources: vec![
                    lp::TrackSource::Microphone as i32,
                    42,
                    lp::TrackSource::ScreenShare as i32,
                ],
                hidden: true,
                can_update_metadata: true,
                can_subscribe_metrics: false,
                can_manage_agent_session: true,
                ..Default::default()
            }),
            client_protocol: 2,
            ..Default::default()
        }
    }

    #[test]
    fn participant_info_fields() {
        let info = participant_info_to_ffi(&sample_info());
        assert_eq!(info.sid, "PA_abc");
        assert_eq!(info.identity, "alice");
        assert_eq!(info.name, "Alice");
        assert_eq!(info.metadata, "{\"m\":1}");
        assert_eq!(info.state, proto::ParticipantState::Active as i32);
        assert_eq!(info.kind, proto::ParticipantKind::Agent as i32);
        assert_eq!(
            info.disconnect_reason,
            proto::DisconnectReason::RoomClosed as i32
        );
        assert_eq!(info.joined_at, 1_700_000_000_123);
        assert_eq!(info.attributes.get("k").map(String::as_str), Some("v"));
        assert_eq!(
            info.kind_details,
            vec![
                proto::ParticipantKindDetail::CloudAgent as i32,
                proto::ParticipantKindDetail::Simulation as i32
            ]
        );
        assert_eq!(info.client_protocol, 2);
        let permission = info.permission.expect("permission");
        assert!(permission.can_subscribe && permission.can_publish);
        assert!(!permission.can_publish_data);
        assert!(permission.hidden && permission.can_update_metadata);
        assert!(!permission.can_subscribe_metrics);
        assert!(permission.can_manage_agent_session);
        assert_eq!(
            permission.can_publish_sources,
            vec![
                proto::TrackSource::SourceMicrophone as i32,
                proto::TrackSource::SourceScreenshare as i32
            ]
        );
    }

    #[test]
    fn participant_info_defaults_and_unknown_values() {
        let raw = lp::ParticipantInfo {
            state: 17,
            kind: 5, // unassigned on the wire (Connector is 7)
            disconnect_reason: 1000,
            joined_at: 1_600_000_000,
            ..Default::default()
        };
        let info = participant_info_to_ffi(&raw);
        assert_eq!(info.state, proto::ParticipantState::Joining as i32);
        assert_eq!(info.kind, proto::ParticipantKind::Standard as i32);
        assert_eq!(
            info.disconnect_reason,
            proto::DisconnectReason::UnknownReason as i32
        );
        assert_eq!(info.joined_at, 1_600_000_000_000);
        assert_eq!(info.permission, None);
        assert!(info.kind_details.is_empty());
        assert_eq!(info.sid, "");
    }

    #[test]
    fn joined_at_seconds_do_not_overflow() {
        let raw = lp::ParticipantInfo {
            joined_at: i64::MAX,
            ..Default::default()
        };
        assert_eq!(participant_info_to_ffi(&raw).joined_at, i64::MAX);
    }

    #[test]
    fn kinds_are_renumbered() {
        let cases = [
            (Kind::Standard, proto::ParticipantKind::Standard, 0),
            (Kind::Ingress, proto::ParticipantKind::Ingress, 1),
            (Kind::Egress, proto::ParticipantKind::Egress, 2),
            (Kind::Sip, proto::ParticipantKind::Sip, 3),
            (Kind::Agent, proto::ParticipantKind::Agent, 4),
            (Kind::Connector, proto::ParticipantKind::Connector, 5),
            (Kind::Bridge, proto::ParticipantKind::Bridge, 6),
        ];
        for (wire, ffi, number) in cases {
            assert_eq!(participant_kind_to_ffi(wire), ffi);
            assert_eq!(ffi as i32, number);
        }
        assert_eq!(Kind::Connector as i32, 7);
        let raw = lp::ParticipantInfo {
            kind: 8,
            ..Default::default()
        };
        assert_eq!(participant_info_to_ffi(&raw).kind, 6);
    }

    #[test]
    fn kind_details_and_states() {
        assert_eq!(
            participant_kind_detail_to_ffi(KindDetail::ConnectorWhatsapp),
            proto::ParticipantKindDetail::ConnectorWhatsapp
        );
        assert_eq!(
            participant_kind_detail_to_ffi(KindDetail::BridgeRtsp),
            proto::ParticipantKindDetail::BridgeRtsp
        );
        assert_eq!(
            participant_state_to_ffi(State::Joined),
            proto::ParticipantState::Joined
        );
        assert_eq!(
            participant_state_to_ffi(State::Disconnected),
            proto::ParticipantState::Disconnected
        );
    }

    #[test]
    fn disconnect_reasons_round_trip_with_equal_numbers() {
        for raw in 0..=16 {
            let wire = lp::DisconnectReason::try_from(raw).expect("known reason");
            let ffi = disconnect_reason_to_ffi(wire);
            assert_eq!(ffi as i32, raw);
            assert_eq!(disconnect_reason_from_ffi(ffi), wire);
        }
        assert_eq!(
            disconnect_reason_to_ffi(lp::DisconnectReason::AgentError),
            proto::DisconnectReason::AgentError
        );
        assert_eq!(
            disconnect_reason_from_ffi(proto::DisconnectReason::ClientInitiated),
            lp::DisconnectReason::ClientInitiated
        );
    }

    #[test]
    fn connection_quality() {
        assert_eq!(
            connection_quality_to_ffi(lp::ConnectionQuality::Poor),
            proto::ConnectionQuality::QualityPoor
        );
        assert_eq!(
            connection_quality_to_ffi(lp::ConnectionQuality::Good),
            proto::ConnectionQuality::QualityGood
        );
        assert_eq!(
            connection_quality_to_ffi(lp::ConnectionQuality::Excellent),
            proto::ConnectionQuality::QualityExcellent
        );
        assert_eq!(
            connection_quality_to_ffi(lp::ConnectionQuality::Lost),
            proto::ConnectionQuality::QualityLost
        );
        let unknown = lp::ConnectionQuality::try_from(9).unwrap_or_default();
        assert_eq!(
            connection_quality_to_ffi(unknown),
            proto::ConnectionQuality::QualityPoor
        );
    }
}
