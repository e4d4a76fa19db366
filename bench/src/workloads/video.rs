//! VideoConvert of a 1280x720 frame between RGBA and I420, with the input
//! in a caller-owned buffer described the way the Python SDK describes it
//! (packed formats by stride, planar formats by per-plane components).

use std::time::Duration;

use livekit_ffi::proto::{
    self, VideoBufferInfo, VideoBufferType, ffi_request::Message as Req,
    video_buffer_info::ComponentInfo, video_convert_response,
};

use super::{Sample, timed};
use crate::expect_response;
use crate::ffi::FfiLib;

const W: u32 = 1280;
const H: u32 = 720;

/// A deterministic gradient so converters cannot shortcut constant input.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7) ^ (i >> 9)) as u8).collect()
}

fn rgba_info(buf: &[u8]) -> VideoBufferInfo {
    VideoBufferInfo {
        r#type: VideoBufferType::Rgba as i32,
        width: W,
        height: H,
        data_ptr: buf.as_ptr() as u64,
        stride: Some(W * 4),
        components: Vec::new(),
    }
}

fn i420_info(buf: &[u8]) -> VideoBufferInfo {
    let base = buf.as_ptr() as u64;
    let (cw, ch) = (W.div_ceil(2), H.div_ceil(2));
    let y = ComponentInfo {
        data_ptr: base,
        stride: W,
        size: W * H,
    };
    let u = ComponentInfo {
        data_ptr: y.data_ptr + y.size as u64,
        stride: cw,
        size: cw * ch,
    };
    let v = ComponentInfo {
        data_ptr: u.data_ptr + u.size as u64,
        stride: cw,
        size: cw * ch,
    };
    VideoBufferInfo {
        r#type: VideoBufferType::I420 as i32,
        width: W,
        height: H,
        data_ptr: base,
        stride: Some(0),
        components: vec![y, u, v],
    }
}

/// One op = VideoConvert request + copy + drop response + drop the owned
/// output buffer. `to_i420` picks RGBA→I420, otherwise I420→RGBA.
pub fn convert(lib: &mut FfiLib, budget: Duration, to_i420: bool) -> Result<Sample, String> {
    let (w, h) = (W as usize, H as usize);
    let input = if to_i420 {
        pattern(w * h * 4)
    } else {
        pattern(w * h + 2 * (w / 2) * (h / 2))
    };
    let (info, dst) = if to_i420 {
        (rgba_info(&input), VideoBufferType::I420)
    } else {
        (i420_info(&input), VideoBufferType::Rgba)
    };
    timed(budget, || {
        let resp = lib.request(Req::VideoConvert(proto::VideoConvertRequest {
            flip_y: Some(false),
            buffer: info.clone(),
            dst_type: dst as i32,
        }))?;
        match expect_response!(resp, VideoConvert)?.message {
            Some(video_convert_response::Message::Buffer(b)) => lib.drop_handle(b.handle.id),
            Some(video_convert_response::Message::Error(e)) => Err(format!("VideoConvert: {e}")),
            None => Err("VideoConvert: empty response".into()),
        }
    })
}
