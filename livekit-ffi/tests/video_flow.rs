//! Video sources, captures, streams and conversions through the C ABI.

mod common;

use common::*;
use livekit_ffi::proto::{
    self, VideoBufferType as T, ffi_event::Message as Ev, ffi_request::Message as Req,
    ffi_response::Message as Res, video_convert_response::Message as Out,
};

/// A tightly packed frame of `kind` with every byte set to `fill`, and the
/// plane list the Python SDK would send for it.
fn frame(kind: T, w: u32, h: u32, fill: u8) -> (Vec<u8>, Vec<(u32, u32)>) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let planes: Vec<(u32, u32)> = match kind {
        T::Rgba | T::Abgr | T::Argb | T::Bgra => vec![(w * 4, h)],
        T::Rgb24 => vec![(w * 3, h)],
        T::I420 => vec![(w, h), (cw, ch), (cw, ch)],
        T::I420a => vec![(w, h), (cw, ch), (cw, ch), (w, h)],
        T::I422 => vec![(w, h), (cw, h), (cw, h)],
        T::I444 => vec![(w, h), (w, h), (w, h)],
        T::I010 => vec![(w * 2, h), (cw * 2, ch), (cw * 2, ch)],
        T::Nv12 => vec![(w, h), (cw * 2, ch)],
    };
    let total = planes.iter().map(|(s, r)| (s * r) as usize).sum();
    let fill = if kind == T::I010 { 0 } else { fill };
    (vec![fill; total], planes)
}

fn info(kind: T, w: u32, h: u32, data: &[u8], planes: &[(u32, u32)]) -> proto::VideoBufferInfo {
    let mut offset = 0u64;
    let components = planes
        .iter()
        .map(|&(stride, rows)| {
            let c = proto::video_buffer_info::ComponentInfo {
                data_ptr: data.as_ptr() as u64 + offset,
                stride,
                size: stride * rows,
            };
            offset += (stride * rows) as u64;
            c
        })
        .collect();
    proto::VideoBufferInfo {
        r#type: kind as i32,
        width: w,
        height: h,
        data_ptr: data.as_ptr() as u64,
        stride: Some(0),
        components,
    }
}

fn convert(
    kind: T,
    dst: T,
    flip: bool,
    data: &[u8],
    planes: &[(u32, u32)],
    w: u32,
    h: u32,
) -> Result<(proto::VideoBufferInfo, Vec<u8>), String> {
    match request(Req::VideoConvert(proto::VideoConvertRequest {
        flip_y: Some(flip),
        buffer: info(kind, w, h, data, planes),
        dst_type: dst as i32,
    })) {
        Res::VideoConvert(r) => match r.message.expect("buffer or error") {
            Out::Buffer(b) => {
                let bytes = take_video(&b);
                Ok((b.info, bytes))
            }
            Out::Error(e) => Err(e),
        },
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_documented_conversion_works() {
    let pairs: &[(T, &[T])] = &[
        (T::Rgba, &[T::I420, T::Bgra]),
        (T::Abgr, &[T::I420]),
        (T::Argb, &[T::I420]),
        (T::Bgra, &[T::I420, T::Rgba]),
        (T::Rgb24, &[T::I420]),
        (
            T::I420,
            &[T::Rgba, T::Abgr, T::Argb, T::Bgra, T::Rgb24, T::I420],
        ),
        (T::I420a, &[T::I420, T::I420a]),
        (T::I422, &[T::Rgba, T::Abgr, T::Argb, T::I420, T::I422]),
        (T::I444, &[T::Rgba, T::Bgra, T::I420, T::I444]),
        (T::I010, &[T::Rgba, T::Bgra, T::I420]),
        (T::Nv12, &[T::Rgba, T::Bgra, T::I420, T::Nv12]),
    ];
    for &(src, targets) in pairs {
        let (w, h) = (33, 17);
        let (data, planes) = frame(src, w, h, 128);
        for &dst in targets {
            for flip in [false, true] {
                let (out, bytes) = convert(src, dst, flip, &data, &planes, w, h)
                    .unwrap_or_else(|e| panic!("{src:?} -> {dst:?}: {e}"));
                assert_eq!(out.r#type, dst as i32);
                assert_eq!((out.width, out.height), (w, h));
                let (_, expected) = frame(dst, w, h, 0);
                let expected: u32 = expected.iter().map(|(s, r)| s * r).sum();
                assert_eq!(
                    bytes.len() as u32,
                    expected,
                    "{src:?} -> {dst:?} is tightly packed"
                );
            }
        }
    }
    assert_no_panic();
}

#[test]
fn converting_grey_rgba_gives_grey_luma() {
    let (data, planes) = frame(T::Rgba, 16, 16, 128);
    let (_, i420) = convert(T::Rgba, T::I420, false, &data, &planes, 16, 16).unwrap();
    // BT.601 limited range: grey 128 maps to Y ≈ 126, U = V = 128.
    assert!(
        i420[..256].iter().all(|&y| (120..=132).contains(&y)),
        "{:?}",
        &i420[..4]
    );
    assert!(i420[256..].iter().all(|&c| (126..=130).contains(&c)));
}

fn new_source() -> u64 {
    match request(Req::NewVideoSource(proto::NewVideoSourceRequest {
        r#type: proto::VideoSourceType::VideoSourceNative as i32,
        // 0x0: no idle black frames, so the stream holds only what we capture.
        resolution: proto::VideoSourceResolution {
            width: 0,
            height: 0,
        },
        is_screencast: None,
    })) {
        Res::NewVideoSource(r) => r.source.handle.id,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn captured_frames_reach_a_local_stream_in_the_requested_format() {
    let source = new_source();
    let track = match request(Req::CreateVideoTrack(proto::CreateVideoTrackRequest {
        name: "cam".into(),
        source_handle: source,
    })) {
        Res::CreateVideoTrack(r) => r.track.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let stream = match request(Req::NewVideoStream(proto::NewVideoStreamRequest {
        track_handle: track,
        r#type: proto::VideoStreamType::VideoStreamNative as i32,
        format: Some(T::Rgba as i32),
        normalize_stride: Some(true),
        queue_size_frames: None,
    })) {
        Res::NewVideoStream(r) => r.stream.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let kinds = [
        T::Rgba,
        T::Abgr,
        T::Argb,
        T::Bgra,
        T::Rgb24,
        T::I420,
        T::I420a,
        T::I422,
        T::I444,
        T::I010,
        T::Nv12,
    ];
    for (n, kind) in kinds.iter().enumerate() {
        let (data, planes) = frame(*kind, 64, 48, 128);
        let response = request(Req::CaptureVideoFrame(proto::CaptureVideoFrameRequest {
            source_handle: source,
            buffer: info(*kind, 64, 48, &data, &planes),
            timestamp_us: 1_000 + n as i64,
            rotation: proto::VideoRotation::VideoRotation90 as i32,
            metadata: None,
        }));
        assert!(matches!(response, Res::CaptureVideoFrame(_)), "{kind:?}");
    }
    let received = |_: ()| {
        collect_events(|m| match m {
            Ev::VideoStreamEvent(e) if e.stream_handle == stream => match &e.message {
                Some(proto::video_stream_event::Message::FrameReceived(f)) => Some(f.clone()),
                _ => None,
            },
            _ => None,
        })
    };
    let deadline = std::time::Instant::now() + 5 * SECOND;
    while received(()).len() < kinds.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let frames = received(());
    assert_eq!(frames.len(), kinds.len());
    for (n, f) in frames.iter().enumerate() {
        assert_eq!(
            f.timestamp_us,
            1_000 + n as i64,
            "frames keep their order and time"
        );
        assert_eq!(f.rotation, proto::VideoRotation::VideoRotation90 as i32);
        assert_eq!(f.buffer.info.r#type, T::Rgba as i32);
        assert_eq!(take_video(&f.buffer).len(), 64 * 48 * 4);
    }
    drop_handle(stream);
    assert!(
        wait_event(5 * SECOND, |m| match m {
            Ev::VideoStreamEvent(e)
                if e.stream_handle == stream
                    && matches!(e.message, Some(proto::video_stream_event::Message::Eos(_))) =>
                Some(()),
            _ => None,
        })
        .is_some()
    );
    drop_handle(track);
    drop_handle(source);
    assert_no_panic();
}

#[test]
fn a_short_capture_is_refused() {
    let source = new_source();
    let (data, planes) = frame(T::I420, 64, 48, 0);
    let mut bad = info(T::I420, 64, 48, &data, &planes);
    bad.components[0].size = 10;
    assert!(
        try_request(Req::CaptureVideoFrame(proto::CaptureVideoFrameRequest {
            source_handle: source,
            buffer: bad,
            timestamp_us: 0,
            rotation: 0,
            metadata: None,
        }))
        .is_none()
    );
    drop_handle(source);
    assert_no_panic();
}
