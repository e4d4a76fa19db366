//! Platform audio, rooms before they exist, dispose and log capture.

mod common;

use common::*;
use livekit_ffi::proto::{
    self, ffi_event::Message as Ev, ffi_request::Message as Req, ffi_response::Message as Res,
};

#[test]
fn platform_audio_has_no_devices_and_says_so() {
    let Res::NewPlatformAudio(r) =
        request(Req::NewPlatformAudio(proto::NewPlatformAudioRequest {}))
    else {
        panic!("unexpected")
    };
    let Some(proto::new_platform_audio_response::Message::PlatformAudio(audio)) = r.message else {
        panic!("platform audio fails: {r:?}")
    };
    assert_eq!(audio.info.recording_device_count, 0);
    assert_eq!(audio.info.playout_device_count, 0);
    let id = audio.handle.id;
    let Res::GetAudioDevices(devices) =
        request(Req::GetAudioDevices(proto::GetAudioDevicesRequest {
            platform_audio_handle: id,
        }))
    else {
        panic!("unexpected")
    };
    assert!(devices.playout_devices.is_empty() && devices.recording_devices.is_empty());
    assert_eq!(devices.error, None);
    let Res::StartRecording(start) = request(Req::StartRecording(proto::StartRecordingRequest {
        platform_audio_handle: id,
    })) else {
        panic!("unexpected")
    };
    assert!(
        start.error.is_some(),
        "recording without a device is an error"
    );
    drop_handle(id);
}

#[test]
fn connect_fails_through_its_callback() {
    let Res::Connect(r) = request(Req::Connect(proto::ConnectRequest {
        url: "ws://127.0.0.1:1".into(),
        token: "token".into(),
        options: proto::RoomOptions::default(),
        request_async_id: None,
    })) else {
        panic!("unexpected")
    };
    // Port 1 refuses at once; every retry does too, so the error is quick.
    let error = wait_event(10 * SECOND, |m| match m {
        Ev::Connect(cb) if cb.async_id == r.async_id => Some(cb.message.clone()),
        _ => None,
    })
    .expect("connect callback");
    assert!(
        matches!(error, Some(proto::connect_callback::Message::Error(e)) if !e.is_empty()),
        "a refused connection must fail through the callback with a message"
    );
}

#[test]
fn async_dispose_request_answers_through_a_callback() {
    let Res::Dispose(r) = request(Req::Dispose(proto::DisposeRequest { r#async: true })) else {
        panic!("unexpected")
    };
    let async_id = r.async_id.expect("an async dispose has an id");
    assert!(
        wait_event(SECOND, |m| match m {
            Ev::Dispose(cb) if cb.async_id == async_id => Some(()),
            _ => None,
        })
        .is_some()
    );
    let Res::Dispose(r) = request(Req::Dispose(proto::DisposeRequest { r#async: false })) else {
        panic!("unexpected")
    };
    assert_eq!(r.async_id, None);
}

#[test]
fn errors_are_captured_as_log_events() {
    assert!(
        try_request(Req::ClearAudioBuffer(proto::ClearAudioBufferRequest {
            source_handle: 424_242,
        }))
        .is_none()
    );
    // Events come from the dispatch thread, possibly just after the
    // request returned.
    let record = wait_event(2 * SECOND, |m| match m {
        Ev::Logs(batch) => batch
            .records
            .iter()
            .find(|r| r.message.contains("unknown handle 424242"))
            .cloned(),
        _ => None,
    })
    .expect("the error was logged as an event");
    assert_eq!(record.level, proto::LogLevel::LogError as i32);
}
