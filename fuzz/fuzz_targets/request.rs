//! Feeds arbitrary bytes to `livekit_ffi_request`.
//!
//! The protocol passes host memory as raw addresses, which no library can
//! validate, so an input whose request would read memory gets its addresses
//! pointed at a scratch buffer large enough for what it declares (inputs
//! declaring more are skipped). Everything else — framing, oneofs, handles,
//! sizes, formats — is the fuzzer's to vary.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use livekit_ffi::proto::{self, ffi_request::Message as Req};
use prost::Message;

const SCRATCH_BYTES: usize = 1 << 22;

unsafe extern "C" fn on_event(_: *const u8, _: usize) {}

fn scratch() -> u64 {
    static SCRATCH: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SCRATCH.get_or_init(|| {
        // u64 elements keep the address aligned for any sample type.
        let buffer = vec![0u64; SCRATCH_BYTES / 8].leak();
        buffer.as_mut_ptr() as usize
    }) as u64
}

fn fits(bytes: u64) -> bool {
    bytes <= SCRATCH_BYTES as u64
}

fn audio(info: &mut proto::AudioFrameBufferInfo) -> bool {
    info.data_ptr = scratch() + (info.data_ptr & 1);
    fits(info.samples_per_channel as u64 * info.num_channels as u64 * 2 + 2)
}

fn raw(ptr: &mut u64, size: u32) -> bool {
    *ptr = scratch() + (*ptr & 1);
    fits(size as u64 + 2)
}

fn video(info: &mut proto::VideoBufferInfo) -> bool {
    info.data_ptr = scratch();
    let row = (info.width as u64 * 4).max(info.stride.unwrap_or(0) as u64);
    let mut ok = fits(row * info.height as u64 * 3);
    for component in &mut info.components {
        component.data_ptr = scratch();
        ok &= fits(component.size as u64);
    }
    ok
}

/// Points the request's addresses at scratch memory; false to skip it.
fn sanitize(message: &mut Req) -> bool {
    match message {
        Req::CaptureAudioFrame(r) => audio(&mut r.buffer),
        Req::RemixAndResample(r) => audio(&mut r.buffer),
        Req::PushSoxResampler(r) => raw(&mut r.data_ptr, r.size),
        Req::ApmProcessStream(r) => raw(&mut r.data_ptr, r.size),
        Req::ApmProcessReverseStream(r) => raw(&mut r.data_ptr, r.size),
        Req::CaptureVideoFrame(r) => video(&mut r.buffer),
        Req::VideoConvert(r) => video(&mut r.buffer),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    static INIT: std::sync::Once = std::sync::Once::new();
    static HIGH_WATER: AtomicU64 = AtomicU64::new(0);
    INIT.call_once(|| unsafe {
        livekit_ffi::livekit_ffi_initialize(Some(on_event), false, c"fuzz".as_ptr(), c"0".as_ptr());
    });
    let bytes = match proto::FfiRequest::decode(data) {
        Ok(mut request) => {
            if let Some(message) = request.message.as_mut() {
                if !sanitize(message) {
                    return;
                }
            }
            request.encode_to_vec()
        }
        // Undecodable input goes in as it is: it must be refused cleanly.
        Err(_) => data.to_vec(),
    };
    let (mut ptr, mut len) = (std::ptr::null(), 0usize);
    let id = unsafe {
        livekit_ffi::livekit_ffi_request(bytes.as_ptr(), bytes.len(), &mut ptr, &mut len)
    };
    if id != 0 {
        // Release everything this input created, so memory stays bounded.
        let from = HIGH_WATER.swap(id, Ordering::Relaxed) + 1;
        for handle in from..=id {
            livekit_ffi::livekit_ffi_drop_handle(handle);
        }
    }
});
