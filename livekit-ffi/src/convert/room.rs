//! Rooms.

use livekit_protocol as lp;

use crate::proto;

/// The FFI view of a room as the server last described it. The data-channel
/// thresholds are the client's own settings, so the caller passes them.
///
/// `creation_time` is in milliseconds; a server that only fills the older
/// seconds field gets it scaled.
pub fn room_info_to_ffi(
    room: &lp::Room,
    lossy_dc_buffered_amount_low_threshold: u64,
    reliable_dc_buffered_amount_low_threshold: u64,
) -> proto::RoomInfo {
    proto::RoomInfo {
        sid: room_sid_to_ffi(&room.sid),
        name: room.name.clone(),
        metadata: room.metadata.clone(),
        lossy_dc_buffered_amount_low_threshold,
        reliable_dc_buffered_amount_low_threshold,
        empty_timeout: room.empty_timeout,
        departure_timeout: room.departure_timeout,
        max_participants: room.max_participants,
        creation_time: if room.creation_time_ms != 0 {
            room.creation_time_ms
        } else {
            room.creation_time.saturating_mul(1000)
        },
        num_participants: room.num_participants,
        num_publishers: room.num_publishers,
        active_recording: room.active_recording,
    }
}

/// The room sid as the FFI reports it: only a well-formed server sid
/// (`RM_…`). Servers may leave it empty in the JoinResponse and send it later
/// in a RoomUpdate; until then the host sees no sid.
pub fn room_sid_to_ffi(sid: &str) -> Option<String> {
    sid.starts_with("RM_").then(|| sid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_info_fields() {
        let room = lp::Room {
            sid: "RM_xyz".into(),
            name: "lobby".into(),
            empty_timeout: 300,
            departure_timeout: 20,
            max_participants: 50,
            creation_time: 1_700_000_000,
            creation_time_ms: 1_700_000_000_456,
            turn_password: "secret".into(),
            metadata: "meta".into(),
            num_participants: 3,
            num_publishers: 2,
            active_recording: true,
            ..Default::default()
        };
        let info = room_info_to_ffi(&room, 1024, 2 * 1024 * 1024);
        assert_eq!(info.sid.as_deref(), Some("RM_xyz"));
        assert_eq!(info.name, "lobby");
        assert_eq!(info.metadata, "meta");
        assert_eq!(info.lossy_dc_buffered_amount_low_threshold, 1024);
        assert_eq!(
            info.reliable_dc_buffered_amount_low_threshold,
            2 * 1024 * 1024
        );
        assert_eq!(info.empty_timeout, 300);
        assert_eq!(info.departure_timeout, 20);
        assert_eq!(info.max_participants, 50);
        assert_eq!(info.creation_time, 1_700_000_000_456);
        assert_eq!(info.num_participants, 3);
        assert_eq!(info.num_publishers, 2);
        assert!(info.active_recording);
    }

    #[test]
    fn room_info_defaults() {
        let room = lp::Room {
            creation_time: 1_600_000_000,
            ..Default::default()
        };
        let info = room_info_to_ffi(&room, 0, 0);
        assert_eq!(info.sid, None);
        assert_eq!(info.name, "");
        assert_eq!(info.creation_time, 1_600_000_000_000);
        assert!(!info.active_recording);
        let huge = lp::Room {
            creation_time: i64::MIN,
            ..Default::default()
        };
        assert_eq!(room_info_to_ffi(&huge, 0, 0).creation_time, i64::MIN);
    }

    #[test]
    fn room_sids() {
        assert_eq!(room_sid_to_ffi("RM_abc"), Some("RM_abc".to_string()));
        assert_eq!(room_sid_to_ffi(""), None);
        assert_eq!(room_sid_to_ffi("PA_abc"), None);
    }
}
