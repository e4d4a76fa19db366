//! Bad input of every kind gets an error, never a crash or a Panic event.

mod common;

use common::*;
use livekit_ffi::proto::{self, ffi_request::Message as Req, ffi_response::Message as Res};
use prost::Message;

fn audio_info(ptr: u64, rate: u32, channels: u32, spc: u32) -> proto::AudioFrameBufferInfo {
    proto::AudioFrameBufferInfo {
        data_ptr: ptr,
        num_channels: channels,
        sample_rate: rate,
        samples_per_channel: spc,
    }
}

fn new_resampler() -> u64 {
    match request(Req::NewAudioResampler(proto::NewAudioResamplerRequest {})) {
        Res::NewAudioResampler(r) => r.resampler.handle.id,
        other => panic!("unexpected {other:?}"),
    }
}

fn new_apm() -> u64 {
    match request(Req::NewApm(proto::NewApmRequest {
        echo_canceller_enabled: true,
        gain_controller_enabled: true,
        high_pass_filter_enabled: true,
        noise_suppression_enabled: true,
    })) {
        Res::NewApm(r) => r.apm.handle.id,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn garbage_truncated_and_empty_requests_are_refused() {
    assert_eq!(raw_request(&[0xff, 0xff, 0xff, 0xff]).0, 0);
    let valid = proto::FfiRequest {
        message: Some(Req::NewAudioResampler(proto::NewAudioResamplerRequest {})),
    }
    .encode_to_vec();
    assert_eq!(raw_request(&valid[..valid.len() - 1]).0, 0, "truncated");
    assert_eq!(raw_request(&[]).0, 0, "empty oneof");
    assert!(logged("the request carries no message"));
    // A null data pointer with a length is refused too.
    let (mut ptr, mut len) = (std::ptr::null(), 0usize);
    let id = unsafe { livekit_ffi::livekit_ffi_request(std::ptr::null(), 4, &mut ptr, &mut len) };
    assert_eq!(id, 0);
    assert_no_panic();
}

#[test]
fn unknown_and_wrong_type_handles_are_refused() {
    let unknown = Req::ClearAudioBuffer(proto::ClearAudioBufferRequest {
        source_handle: 987_654_321,
    });
    assert!(try_request(unknown).is_none());
    assert!(logged("unknown handle 987654321"));

    let resampler = new_resampler();
    let wrong = Req::ClearAudioBuffer(proto::ClearAudioBufferRequest {
        source_handle: resampler,
    });
    assert!(try_request(wrong).is_none());
    assert!(logged(&format!("handle {resampler} is not a")));
    drop_handle(resampler);
    assert!(
        !livekit_ffi::livekit_ffi_drop_handle(resampler),
        "dropped twice"
    );
    assert!(!livekit_ffi::livekit_ffi_drop_handle(0));
    assert_no_panic();
}

#[test]
fn null_misaligned_and_mismatched_audio_buffers_are_refused() {
    let resampler = new_resampler();
    let samples = vec![0i16; 481];
    let remix = |info| {
        try_request(Req::RemixAndResample(proto::RemixAndResampleRequest {
            resampler_handle: resampler,
            buffer: info,
            num_channels: 1,
            sample_rate: 16_000,
        }))
    };
    assert!(remix(audio_info(0, 48_000, 1, 480)).is_none(), "null");
    let misaligned = samples.as_ptr() as u64 + 1;
    assert!(
        remix(audio_info(misaligned, 48_000, 1, 480)).is_none(),
        "misaligned"
    );
    assert!(
        remix(audio_info(samples.as_ptr() as u64, 48_000, 0, 480)).is_none(),
        "0 channels"
    );
    assert!(
        remix(audio_info(samples.as_ptr() as u64, 0, 1, 480)).is_none(),
        "0 Hz"
    );
    assert!(remix(audio_info(samples.as_ptr() as u64, 48_000, 1, 480)).is_some());
    drop_handle(resampler);
    assert_no_panic();
}

#[test]
fn audio_sources_refuse_bad_queue_sizes_and_formats() {
    let source = |queue, channels| {
        try_request(Req::NewAudioSource(proto::NewAudioSourceRequest {
            r#type: proto::AudioSourceType::AudioSourceNative as i32,
            options: None,
            sample_rate: Some(48_000),
            num_channels: Some(channels),
            queue_size_ms: Some(queue),
            platform_audio_handle: None,
        }))
    };
    assert!(
        source(15, 1).is_none(),
        "queue_size_ms not a multiple of 10"
    );
    assert!(logged("multiple of 10"));
    assert!(source(100, 0).is_none(), "no channels");
    assert!(source(100, 1).is_some());
    assert_no_panic();
}

#[test]
fn apm_frames_that_are_not_10ms_get_an_error() {
    let apm = new_apm();
    let mut samples = vec![0i16; 480];
    let process =
        |ptr: u64, size: u32| match request(Req::ApmProcessStream(proto::ApmProcessStreamRequest {
            apm_handle: apm,
            data_ptr: ptr,
            size,
            sample_rate: 48_000,
            num_channels: 1,
        })) {
            Res::ApmProcessStream(r) => r.error,
            other => panic!("unexpected {other:?}"),
        };
    let ptr = samples.as_mut_ptr() as u64;
    assert!(process(ptr, 960).is_none(), "10 ms works");
    assert!(process(ptr, 480).is_some(), "5 ms is refused");
    let mut twenty_ms = vec![0i16; 960];
    assert!(
        process(twenty_ms.as_mut_ptr() as u64, 1920).is_none(),
        "two 10 ms frames work"
    );
    assert!(process(ptr, 959).is_some(), "odd byte count");
    assert!(process(ptr + 1, 960).is_some(), "misaligned");
    assert!(process(0, 960).is_some(), "null");
    drop_handle(apm);
    assert_no_panic();
}

#[test]
fn unsupported_conversions_and_short_video_buffers_get_errors() {
    let pixels = [0u8; 4 * 4 * 4];
    let convert = |kind: proto::VideoBufferType, dst: proto::VideoBufferType, w: u32| match request(
        Req::VideoConvert(proto::VideoConvertRequest {
            flip_y: None,
            buffer: proto::VideoBufferInfo {
                r#type: kind as i32,
                width: w,
                height: 4,
                data_ptr: pixels.as_ptr() as u64,
                stride: None,
                components: vec![proto::video_buffer_info::ComponentInfo {
                    data_ptr: pixels.as_ptr() as u64,
                    stride: w * 4,
                    size: pixels.len() as u32,
                }],
            },
            dst_type: dst as i32,
        }),
    ) {
        Res::VideoConvert(r) => r.message.expect("a buffer or an error"),
        other => panic!("unexpected {other:?}"),
    };
    use proto::VideoBufferType as T;
    use proto::video_convert_response::Message as Out;
    match convert(T::Rgba, T::I420, 4) {
        Out::Buffer(b) => drop_handle(b.handle.id),
        Out::Error(e) => panic!("RGBA->I420 failed: {e}"),
    }
    assert!(
        matches!(convert(T::Rgba, T::I010, 4), Out::Error(_)),
        "unsupported pair"
    );
    assert!(
        matches!(convert(T::Rgba, T::I420, 8), Out::Error(_)),
        "plane too short"
    );
    assert!(
        matches!(convert(T::Rgba, T::I420, 0), Out::Error(_)),
        "zero width"
    );
    assert_no_panic();
}

#[test]
fn room_requests_on_unknown_rooms_fail_cleanly() {
    let disconnect = Req::Disconnect(proto::DisconnectRequest {
        room_handle: 987_654_321,
        request_async_id: None,
        reason: None,
    });
    assert!(try_request(disconnect).is_none());
    assert!(logged("unknown handle 987654321"));
    let unpublish = Req::UnpublishTrack(proto::UnpublishTrackRequest {
        local_participant_handle: 1,
        track_sid: "TR_x".into(),
        stop_on_unpublish: false,
        request_async_id: None,
    });
    assert!(try_request(unpublish).is_none());
    assert_no_panic();
}

#[test]
fn media_requests_on_unknown_or_wrong_handles_fail_cleanly() {
    let resampler = new_resampler();
    for handle in [987_654_322, resampler] {
        let requests = [
            Req::PublishTrack(proto::PublishTrackRequest {
                local_participant_handle: handle,
                track_handle: handle,
                options: Default::default(),
                request_async_id: None,
            }),
            Req::SetSubscribed(proto::SetSubscribedRequest {
                subscribe: true,
                publication_handle: handle,
            }),
            Req::EnableRemoteTrack(proto::EnableRemoteTrackRequest {
                track_handle: handle,
                enabled: false,
            }),
            Req::EnableRemoteTrackPublication(proto::EnableRemoteTrackPublicationRequest {
                track_publication_handle: handle,
                enabled: false,
            }),
            Req::SetTrackSubscriptionPermissions(proto::SetTrackSubscriptionPermissionsRequest {
                local_participant_handle: handle,
                all_participants_allowed: false,
                permissions: Vec::new(),
            }),
            Req::AudioStreamFromParticipant(proto::AudioStreamFromParticipantRequest {
                participant_handle: handle,
                r#type: proto::AudioStreamType::AudioStreamNative as i32,
                track_source: None,
                sample_rate: None,
                num_channels: None,
                audio_filter_module_id: None,
                audio_filter_options: None,
                frame_size_ms: None,
                queue_size_frames: None,
            }),
            Req::GetStats(proto::GetStatsRequest {
                track_handle: handle,
                request_async_id: None,
            }),
        ];
        for request in requests {
            let name = format!("{request:?}");
            assert!(try_request(request).is_none(), "accepted: {name}");
        }
    }

    // A local track is not a remote one, and vice versa.
    let source = match try_request(Req::NewAudioSource(proto::NewAudioSourceRequest {
        r#type: proto::AudioSourceType::AudioSourceNative as i32,
        options: None,
        sample_rate: Some(48_000),
        num_channels: Some(1),
        queue_size_ms: Some(0),
        platform_audio_handle: None,
    })) {
        Some(Res::NewAudioSource(r)) => r.source.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let track = match try_request(Req::CreateAudioTrack(proto::CreateAudioTrackRequest {
        name: "t".into(),
        source_handle: source,
    })) {
        Some(Res::CreateAudioTrack(r)) => r.track.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let enable = Req::EnableRemoteTrack(proto::EnableRemoteTrackRequest {
        track_handle: track,
        enabled: true,
    });
    assert!(try_request(enable).is_none());
    assert!(logged("EnableRemoteTrack needs a remote track"));
    drop_handle(track);
    drop_handle(source);
    drop_handle(resampler);
    assert_no_panic();
}
