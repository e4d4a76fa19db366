//! Data tracks: infos, frames, options and errors between the engine
//! (whose schema and encoding types are the signal protocol's) and the FFI
//! protocol.
//!
//! The well-known encodings are numbered alike in both protocols, so
//! their values pass through; an unknown value passes through as well and
//! reads as "unspecified" on whichever side does not know it.

use livekit_core::room::data_tracks::{
    DataTrackFrame, DataTrackInfo, DataTrackOptions, PublishDataTrackError, PushFrameError,
    SubscribeDataTrackError,
};
use livekit_protocol as lp;

use crate::proto;

/// A track's description for the host.
pub fn info_to_ffi(info: &DataTrackInfo) -> proto::DataTrackInfo {
    proto::DataTrackInfo {
        name: info.name.clone(),
        sid: info.sid.clone(),
        uses_e2ee: info.uses_e2ee,
        schema: info.schema.as_ref().map(schema_id_to_ffi),
        frame_encoding: info.frame_encoding.as_ref().map(frame_encoding_to_ffi),
    }
}

/// A received frame for the host.
pub fn frame_to_ffi(frame: DataTrackFrame) -> proto::DataTrackFrame {
    proto::DataTrackFrame {
        payload: frame.payload.to_vec(),
        user_timestamp: frame.user_timestamp,
    }
}

/// A frame the host pushes.
pub fn frame_from_ffi(frame: proto::DataTrackFrame) -> DataTrackFrame {
    DataTrackFrame {
        payload: frame.payload.into(),
        user_timestamp: frame.user_timestamp,
    }
}

/// The host's publish options.
pub fn options_from_ffi(options: proto::DataTrackOptions) -> DataTrackOptions {
    DataTrackOptions {
        name: options.name,
        schema: options.schema.map(schema_id_from_ffi),
        frame_encoding: options.frame_encoding.map(frame_encoding_from_ffi),
    }
}

fn schema_id_to_ffi(id: &lp::DataTrackSchemaId) -> proto::DataTrackSchemaId {
    use lp::data_track_schema_encoding::Value;
    use proto::data_track_schema_encoding::Encoding;
    proto::DataTrackSchemaId {
        name: id.name.clone(),
        encoding: id
            .encoding
            .as_ref()
            .map(|e| proto::DataTrackSchemaEncoding {
                encoding: e.value.as_ref().map(|v| match v {
                    Value::WellKnown(k) => Encoding::WellKnown(*k),
                    Value::Custom(name) => Encoding::Custom(name.clone()),
                }),
            }),
    }
}

fn schema_id_from_ffi(id: proto::DataTrackSchemaId) -> lp::DataTrackSchemaId {
    use lp::data_track_schema_encoding::Value;
    use proto::data_track_schema_encoding::Encoding;
    lp::DataTrackSchemaId {
        name: id.name,
        encoding: id.encoding.map(|e| lp::DataTrackSchemaEncoding {
            value: e.encoding.map(|v| match v {
                Encoding::WellKnown(k) => Value::WellKnown(k),
                Encoding::Custom(name) => Value::Custom(name),
            }),
        }),
    }
}

fn frame_encoding_to_ffi(e: &lp::DataTrackFrameEncoding) -> proto::DataTrackFrameEncoding {
    use lp::data_track_frame_encoding::Value;
    use proto::data_track_frame_encoding::Encoding;
    proto::DataTrackFrameEncoding {
        encoding: e.value.as_ref().map(|v| match v {
            Value::WellKnown(k) => Encoding::WellKnown(*k),
            Value::Custom(name) => Encoding::Custom(name.clone()),
        }),
    }
}

fn frame_encoding_from_ffi(e: proto::DataTrackFrameEncoding) -> lp::DataTrackFrameEncoding {
    use lp::data_track_frame_encoding::Value;
    use proto::data_track_frame_encoding::Encoding;
    lp::DataTrackFrameEncoding {
        value: e.encoding.map(|v| match v {
            Encoding::WellKnown(k) => Value::WellKnown(k),
            Encoding::Custom(name) => Value::Custom(name),
        }),
    }
}

/// A failed publish for the callback.
pub fn publish_error_to_ffi(error: &PublishDataTrackError) -> proto::PublishDataTrackError {
    use proto::PublishDataTrackErrorCode as Code;
    let code = match error {
        PublishDataTrackError::NotAllowed => Code::NotAllowed,
        PublishDataTrackError::DuplicateName => Code::DuplicateName,
        PublishDataTrackError::InvalidName => Code::InvalidName,
        PublishDataTrackError::Timeout => Code::Timeout,
        PublishDataTrackError::LimitReached => Code::LimitReached,
        PublishDataTrackError::Disconnected => Code::Disconnected,
        PublishDataTrackError::InvalidSchema(_) => Code::InvalidSchema,
        PublishDataTrackError::Refused(_) => Code::Internal,
    };
    proto::PublishDataTrackError {
        code: code as i32,
        message: error.to_string(),
    }
}

/// A failed push for the response.
pub fn push_error_to_ffi(error: &PushFrameError) -> proto::LocalDataTrackTryPushError {
    use proto::LocalDataTrackTryPushErrorCode as Code;
    let code = match error {
        PushFrameError::TrackUnpublished => Code::TrackUnpublished,
    };
    proto::LocalDataTrackTryPushError {
        code: code as i32,
        message: error.to_string(),
    }
}

/// Why a subscription stream ended early, for its EOS.
pub fn subscribe_error_to_ffi(error: &SubscribeDataTrackError) -> proto::SubscribeDataTrackError {
    use proto::SubscribeDataTrackErrorCode as Code;
    let code = match error {
        SubscribeDataTrackError::Unpublished => Code::Unpublished,
        SubscribeDataTrackError::Timeout => Code::Timeout,
        SubscribeDataTrackError::Disconnected => Code::Disconnected,
        SubscribeDataTrackError::Unsupported(_) => Code::Internal,
    };
    proto::SubscribeDataTrackError {
        code: code as i32,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip_with_their_numbers() {
        use lp::data_track_frame_encoding::Value as F;
        use lp::data_track_schema_encoding::Value as S;
        let options = proto::DataTrackOptions {
            name: "pose".into(),
            schema: Some(proto::DataTrackSchemaId {
                name: "Pose".into(),
                encoding: Some(proto::DataTrackSchemaEncoding {
                    encoding: Some(proto::data_track_schema_encoding::Encoding::WellKnown(
                        proto::data_track_schema_encoding::WellKnownSchemaEncoding::Ros2Msg as i32,
                    )),
                }),
            }),
            frame_encoding: Some(proto::DataTrackFrameEncoding {
                encoding: Some(proto::data_track_frame_encoding::Encoding::Custom(
                    "mine".into(),
                )),
            }),
        };
        let ours = options_from_ffi(options.clone());
        assert_eq!(ours.name, "pose");
        let schema = ours.schema.clone().unwrap();
        assert_eq!(
            schema.encoding.unwrap().value,
            Some(S::WellKnown(
                lp::data_track_schema_encoding::WellKnownSchemaEncoding::Ros2Msg as i32
            ))
        );
        assert_eq!(
            ours.frame_encoding.clone().unwrap().value,
            Some(F::Custom("mine".into()))
        );
        let info = DataTrackInfo {
            sid: "DTR_x".into(),
            name: ours.name,
            pub_handle: 1,
            uses_e2ee: false,
            schema: ours.schema,
            frame_encoding: ours.frame_encoding,
        };
        let ffi = info_to_ffi(&info);
        assert_eq!(ffi.schema, options.schema);
        assert_eq!(ffi.frame_encoding, options.frame_encoding);
        assert_eq!(ffi.sid, "DTR_x");
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            publish_error_to_ffi(&PublishDataTrackError::DuplicateName).code,
            proto::PublishDataTrackErrorCode::DuplicateName as i32
        );
        assert_eq!(
            publish_error_to_ffi(&PublishDataTrackError::Refused("x".into())).code,
            proto::PublishDataTrackErrorCode::Internal as i32
        );
        assert_eq!(
            push_error_to_ffi(&PushFrameError::TrackUnpublished).code,
            proto::LocalDataTrackTryPushErrorCode::TrackUnpublished as i32
        );
        assert_eq!(
            subscribe_error_to_ffi(&SubscribeDataTrackError::Timeout).code,
            proto::SubscribeDataTrackErrorCode::Timeout as i32
        );
    }

    #[test]
    fn frames_keep_payload_and_timestamp() {
        let frame = frame_from_ffi(proto::DataTrackFrame {
            payload: vec![1, 2],
            user_timestamp: Some(5),
        });
        assert_eq!(frame.payload.as_ref(), [1, 2]);
        let back = frame_to_ffi(frame);
        assert_eq!(back.payload, [1, 2]);
        assert_eq!(back.user_timestamp, Some(5));
    }
}
