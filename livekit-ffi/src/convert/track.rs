//! Tracks and publications: info, kind, source, encryption and features.

use livekit_protocol as lp;
use livekit_protocol::encryption::Type as EncryptionType;

use crate::proto;

/// The FFI view of a publication, from the `TrackInfo` the server sent.
///
/// `remote` is false for our own publications. For a local publication
/// whose track exists, the host expects the track's mute state; pass a
/// `TrackInfo` with `muted` already set to it. Unknown enum values degrade:
/// the kind (and a data track's) to `KindUnknown`, the source to `SourceUnknown`, the encryption
/// to `None`; unknown features are dropped.
pub fn track_publication_info_to_ffi(
    info: &lp::TrackInfo,
    remote: bool,
) -> proto::TrackPublicationInfo {
    proto::TrackPublicationInfo {
        sid: info.sid.clone(),
        name: info.name.clone(),
        kind: track_kind_raw_to_ffi(info.r#type) as i32,
        source: track_source_to_ffi(info.source()) as i32,
        simulcasted: is_simulcasted(info),
        width: info.width,
        height: info.height,
        mime_type: info.mime_type.clone(),
        muted: info.muted,
        remote,
        encryption_type: encryption_type_to_ffi(info.encryption()) as i32,
        audio_features: info
            .audio_features()
            .map(|feature| audio_feature_to_ffi(feature) as i32)
            .collect(),
        frame_metadata_features: info
            .packet_trailer_features()
            .map(|feature| frame_metadata_feature_to_ffi(feature) as i32)
            .collect(),
    }
}

/// The FFI view of a subscribed remote track. A new track is active; its
/// mute state follows the publication's.
pub fn remote_track_info_to_ffi(info: &lp::TrackInfo) -> proto::TrackInfo {
    proto::TrackInfo {
        sid: info.sid.clone(),
        name: info.name.clone(),
        kind: track_kind_raw_to_ffi(info.r#type) as i32,
        stream_state: proto::StreamState::StateActive as i32,
        muted: info.muted,
        remote: true,
    }
}

/// Whether the publication has more than one video layer. Current servers
/// describe layers per codec; older ones use the deprecated `simulcast` flag
/// and top-level `layers`, so all three count.
#[allow(deprecated)]
pub fn is_simulcasted(info: &lp::TrackInfo) -> bool {
    info.simulcast || info.layers.len() > 1 || info.codecs.iter().any(|c| c.layers.len() > 1)
}

/// Track kind. Data tracks have no place in the FFI's media track kinds and
/// become `KindUnknown`.
pub fn track_kind_to_ffi(kind: lp::TrackType) -> proto::TrackKind {
    match kind {
        lp::TrackType::Audio => proto::TrackKind::KindAudio,
        lp::TrackType::Video => proto::TrackKind::KindVideo,
        lp::TrackType::Data => proto::TrackKind::KindUnknown,
    }
}

/// Track kind from the raw wire value, where an unknown type is
/// `KindUnknown` rather than the wire enum's default (`Audio`).
fn track_kind_raw_to_ffi(raw: i32) -> proto::TrackKind {
    lp::TrackType::try_from(raw).map_or(proto::TrackKind::KindUnknown, track_kind_to_ffi)
}

/// The wire track type of an FFI track kind; `None` for `KindUnknown`.
pub fn track_kind_from_ffi(kind: proto::TrackKind) -> Option<lp::TrackType> {
    match kind {
        proto::TrackKind::KindAudio => Some(lp::TrackType::Audio),
        proto::TrackKind::KindVideo => Some(lp::TrackType::Video),
        proto::TrackKind::KindUnknown => None,
    }
}

/// Track source.
pub fn track_source_to_ffi(source: lp::TrackSource) -> proto::TrackSource {
    match source {
        lp::TrackSource::Unknown => proto::TrackSource::SourceUnknown,
        lp::TrackSource::Camera => proto::TrackSource::SourceCamera,
        lp::TrackSource::Microphone => proto::TrackSource::SourceMicrophone,
        lp::TrackSource::ScreenShare => proto::TrackSource::SourceScreenshare,
        lp::TrackSource::ScreenShareAudio => proto::TrackSource::SourceScreenshareAudio,
    }
}

/// Track source of a publish request (`TrackPublishOptions.source`), for the
/// `AddTrackRequest`.
pub fn track_source_from_ffi(source: proto::TrackSource) -> lp::TrackSource {
    match source {
        proto::TrackSource::SourceUnknown => lp::TrackSource::Unknown,
        proto::TrackSource::SourceCamera => lp::TrackSource::Camera,
        proto::TrackSource::SourceMicrophone => lp::TrackSource::Microphone,
        proto::TrackSource::SourceScreenshare => lp::TrackSource::ScreenShare,
        proto::TrackSource::SourceScreenshareAudio => lp::TrackSource::ScreenShareAudio,
    }
}

/// End-to-end encryption scheme.
pub fn encryption_type_to_ffi(kind: EncryptionType) -> proto::EncryptionType {
    match kind {
        EncryptionType::None => proto::EncryptionType::None,
        EncryptionType::Gcm => proto::EncryptionType::Gcm,
        EncryptionType::Custom => proto::EncryptionType::Custom,
    }
}

/// End-to-end encryption scheme of the room options, for what we announce.
pub fn encryption_type_from_ffi(kind: proto::EncryptionType) -> EncryptionType {
    match kind {
        proto::EncryptionType::None => EncryptionType::None,
        proto::EncryptionType::Gcm => EncryptionType::Gcm,
        proto::EncryptionType::Custom => EncryptionType::Custom,
    }
}

/// Audio track feature.
pub fn audio_feature_to_ffi(feature: lp::AudioTrackFeature) -> proto::AudioTrackFeature {
    use lp::AudioTrackFeature as W;
    use proto::AudioTrackFeature as F;
    match feature {
        W::TfStereo => F::TfStereo,
        W::TfNoDtx => F::TfNoDtx,
        W::TfAutoGainControl => F::TfAutoGainControl,
        W::TfEchoCancellation => F::TfEchoCancellation,
        W::TfNoiseSuppression => F::TfNoiseSuppression,
        W::TfEnhancedNoiseCancellation => F::TfEnhancedNoiseCancellation,
        W::TfPreconnectBuffer => F::TfPreconnectBuffer,
    }
}

/// Audio track feature, for what we announce when publishing.
pub fn audio_feature_from_ffi(feature: proto::AudioTrackFeature) -> lp::AudioTrackFeature {
    use lp::AudioTrackFeature as W;
    use proto::AudioTrackFeature as F;
    match feature {
        F::TfStereo => W::TfStereo,
        F::TfNoDtx => W::TfNoDtx,
        F::TfAutoGainControl => W::TfAutoGainControl,
        F::TfEchoCancellation => W::TfEchoCancellation,
        F::TfNoiseSuppression => W::TfNoiseSuppression,
        F::TfEnhancedNoiseCancellation => W::TfEnhancedNoiseCancellation,
        F::TfPreconnectBuffer => W::TfPreconnectBuffer,
    }
}

/// Per-frame metadata the publisher attaches (the wire calls these packet
/// trailer features).
pub fn frame_metadata_feature_to_ffi(
    feature: lp::PacketTrailerFeature,
) -> proto::FrameMetadataFeature {
    match feature {
        lp::PacketTrailerFeature::PtfUserTimestamp => proto::FrameMetadataFeature::FmfUserTimestamp,
        lp::PacketTrailerFeature::PtfFrameId => proto::FrameMetadataFeature::FmfFrameId,
        lp::PacketTrailerFeature::PtfUserData => proto::FrameMetadataFeature::FmfUserData,
    }
}

/// Per-frame metadata requested in the publish options, for the
/// `AddTrackRequest`.
pub fn frame_metadata_feature_from_ffi(
    feature: proto::FrameMetadataFeature,
) -> lp::PacketTrailerFeature {
    match feature {
        proto::FrameMetadataFeature::FmfUserTimestamp => lp::PacketTrailerFeature::PtfUserTimestamp,
        proto::FrameMetadataFeature::FmfFrameId => lp::PacketTrailerFeature::PtfFrameId,
        proto::FrameMetadataFeature::FmfUserData => lp::PacketTrailerFeature::PtfUserData,
    }
}

/// Stream state from a `StreamStateUpdate`.
pub fn stream_state_to_ffi(state: lp::StreamState) -> proto::StreamState {
    match state {
        lp::StreamState::Active => proto::StreamState::StateActive,
        lp::StreamState::Paused => proto::StreamState::StatePaused,
    }
}

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use super::*;

    fn layer(width: u32) -> lp::VideoLayer {
        lp::VideoLayer {
            width,
            ..Default::default()
        }
    }

    fn video_info() -> lp::TrackInfo {
        lp::TrackInfo {
            sid: "TR_video".into(),
            r#type: lp::TrackType::Video as i32,
            name: "camera".into(),
            muted: true,
            width: 1280,
            height: 720,
            source: lp::TrackSource::Camera as i32,
            mime_type: "video/VP8".into(),
            encryption: EncryptionType::Gcm as i32,
            codecs: vec![lp::SimulcastCodecInfo {
                mime_type: "video/VP8".into(),
                layers: vec![layer(320), layer(640), layer(1280)],
                ..Default::default()
            }],
            packet_trailer_features: vec![
                lp::PacketTrailerFeature::PtfFrameId as i32,
                77,
                lp::PacketTrailerFeature::PtfUserTimestamp as i32,
            ],
            ..Default::default()
        }
    }

    #[test]
    fn video_publication_fields() {
        let info = track_publication_info_to_ffi(&video_info(), true);
        assert_eq!(info.sid, "TR_video");
        assert_eq!(info.name, "camera");
        assert_eq!(info.kind, proto::TrackKind::KindVideo as i32);
        assert_eq!(info.source, proto::TrackSource::SourceCamera as i32);
        assert!(info.simulcasted);
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!(info.mime_type, "video/VP8");
        assert!(info.muted);
        assert!(info.remote);
        assert_eq!(info.encryption_type, proto::EncryptionType::Gcm as i32);
        assert!(info.audio_features.is_empty());
        assert_eq!(
            info.frame_metadata_features,
            vec![
                proto::FrameMetadataFeature::FmfFrameId as i32,
                proto::FrameMetadataFeature::FmfUserTimestamp as i32
            ]
        );
    }

    #[test]
    fn audio_publication_fields() {
        let raw = lp::TrackInfo {
            sid: "TR_audio".into(),
            r#type: lp::TrackType::Audio as i32,
            name: "mic".into(),
            source: lp::TrackSource::Microphone as i32,
            mime_type: "audio/opus".into(),
            audio_features: vec![
                lp::AudioTrackFeature::TfStereo as i32,
                123,
                lp::AudioTrackFeature::TfPreconnectBuffer as i32,
            ],
            ..Default::default()
        };
        let info = track_publication_info_to_ffi(&raw, false);
        assert_eq!(info.kind, proto::TrackKind::KindAudio as i32);
        assert_eq!(info.source, proto::TrackSource::SourceMicrophone as i32);
        assert!(!info.simulcasted);
        assert!(!info.remote);
        assert!(!info.muted);
        assert_eq!((info.width, info.height), (0, 0));
        assert_eq!(info.encryption_type, proto::EncryptionType::None as i32);
        assert_eq!(
            info.audio_features,
            vec![
                proto::AudioTrackFeature::TfStereo as i32,
                proto::AudioTrackFeature::TfPreconnectBuffer as i32
            ]
        );
    }

    #[test]
    fn unknown_enum_values_degrade() {
        let raw = lp::TrackInfo {
            r#type: 9,
            source: 50,
            encryption: 7,
            ..Default::default()
        };
        let info = track_publication_info_to_ffi(&raw, true);
        assert_eq!(info.kind, proto::TrackKind::KindUnknown as i32);
        assert_eq!(info.source, proto::TrackSource::SourceUnknown as i32);
        assert_eq!(info.encryption_type, proto::EncryptionType::None as i32);
        let data = lp::TrackInfo {
            r#type: lp::TrackType::Data as i32,
            ..Default::default()
        };
        assert_eq!(
            track_publication_info_to_ffi(&data, true).kind,
            proto::TrackKind::KindUnknown as i32
        );
    }

    #[test]
    fn simulcast_detection() {
        let plain = lp::TrackInfo::default();
        assert!(!is_simulcasted(&plain));
        let one_layer = lp::TrackInfo {
            codecs: vec![lp::SimulcastCodecInfo {
                layers: vec![layer(640)],
                ..Default::default()
            }],
            layers: vec![layer(640)],
            ..Default::default()
        };
        assert!(!is_simulcasted(&one_layer));
        let legacy_flag = lp::TrackInfo {
            simulcast: true,
            ..Default::default()
        };
        assert!(is_simulcasted(&legacy_flag));
        let legacy_layers = lp::TrackInfo {
            layers: vec![layer(320), layer(640)],
            ..Default::default()
        };
        assert!(is_simulcasted(&legacy_layers));
    }

    #[test]
    fn remote_track_info_fields() {
        let info = remote_track_info_to_ffi(&video_info());
        assert_eq!(info.sid, "TR_video");
        assert_eq!(info.name, "camera");
        assert_eq!(info.kind, proto::TrackKind::KindVideo as i32);
        assert_eq!(info.stream_state, proto::StreamState::StateActive as i32);
        assert!(info.muted);
        assert!(info.remote);
    }

    #[test]
    fn kinds() {
        assert_eq!(
            track_kind_to_ffi(lp::TrackType::Audio),
            proto::TrackKind::KindAudio
        );
        assert_eq!(
            track_kind_to_ffi(lp::TrackType::Video),
            proto::TrackKind::KindVideo
        );
        assert_eq!(
            track_kind_to_ffi(lp::TrackType::Data),
            proto::TrackKind::KindUnknown
        );
        assert_eq!(
            track_kind_from_ffi(proto::TrackKind::KindAudio),
            Some(lp::TrackType::Audio)
        );
        assert_eq!(
            track_kind_from_ffi(proto::TrackKind::KindVideo),
            Some(lp::TrackType::Video)
        );
        assert_eq!(track_kind_from_ffi(proto::TrackKind::KindUnknown), None);
    }

    #[test]
    fn sources_round_trip() {
        let pairs = [
            (lp::TrackSource::Unknown, proto::TrackSource::SourceUnknown),
            (lp::TrackSource::Camera, proto::TrackSource::SourceCamera),
            (
                lp::TrackSource::Microphone,
                proto::TrackSource::SourceMicrophone,
            ),
            (
                lp::TrackSource::ScreenShare,
                proto::TrackSource::SourceScreenshare,
            ),
            (
                lp::TrackSource::ScreenShareAudio,
                proto::TrackSource::SourceScreenshareAudio,
            ),
        ];
        for (wire, ffi) in pairs {
            assert_eq!(track_source_to_ffi(wire), ffi);
            assert_eq!(track_source_from_ffi(ffi), wire);
        }
    }

    #[test]
    fn encryption_round_trip() {
        let pairs = [
            (EncryptionType::None, proto::EncryptionType::None),
            (EncryptionType::Gcm, proto::EncryptionType::Gcm),
            (EncryptionType::Custom, proto::EncryptionType::Custom),
        ];
        for (wire, ffi) in pairs {
            assert_eq!(encryption_type_to_ffi(wire), ffi);
            assert_eq!(encryption_type_from_ffi(ffi), wire);
        }
    }

    #[test]
    fn features_round_trip() {
        for raw in 0..=6 {
            let wire = lp::AudioTrackFeature::try_from(raw).expect("known feature");
            let ffi = audio_feature_to_ffi(wire);
            assert_eq!(ffi as i32, raw);
            assert_eq!(audio_feature_from_ffi(ffi), wire);
        }
        for raw in 0..=2 {
            let wire = lp::PacketTrailerFeature::try_from(raw).expect("known feature");
            let ffi = frame_metadata_feature_to_ffi(wire);
            assert_eq!(ffi as i32, raw);
            assert_eq!(frame_metadata_feature_from_ffi(ffi), wire);
        }
        assert_eq!(
            audio_feature_from_ffi(proto::AudioTrackFeature::TfNoDtx),
            lp::AudioTrackFeature::TfNoDtx
        );
    }

    #[test]
    fn stream_states() {
        assert_eq!(
            stream_state_to_ffi(lp::StreamState::Active),
            proto::StreamState::StateActive
        );
        assert_eq!(
            stream_state_to_ffi(lp::StreamState::Paused),
            proto::StreamState::StatePaused
        );
    }
}
