//! A tiny host for tests: calls the C ABI with encoded requests and keeps
//! every event it receives, as an SDK would.

#![allow(dead_code)]

pub mod audio;
pub mod room;

use std::sync::{Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use livekit_ffi::proto::{self, ffi_request::Message as Req, ffi_response::Message as Res};
use livekit_ffi::*;
use prost::Message;

static EVENTS: Mutex<Vec<proto::FfiEvent>> = Mutex::new(Vec::new());
static ARRIVED: Condvar = Condvar::new();

unsafe extern "C" fn on_event(data: *const u8, len: usize) {
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    let event = proto::FfiEvent::decode(bytes).expect("events decode");
    EVENTS.lock().unwrap().push(event);
    ARRIVED.notify_all();
}

/// Initializes the library once per test binary, capturing logs as events.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| unsafe {
        livekit_ffi_initialize(Some(on_event), true, c"test".as_ptr(), c"0.0.0".as_ptr());
    });
}

/// Sends raw bytes; returns the response handle (0 on failure) and response.
pub fn raw_request(bytes: &[u8]) -> (u64, Option<proto::FfiResponse>) {
    init();
    let (mut ptr, mut len) = (std::ptr::null(), 0usize);
    let id = unsafe { livekit_ffi_request(bytes.as_ptr(), bytes.len(), &mut ptr, &mut len) };
    if id == 0 {
        assert!(
            ptr.is_null(),
            "a failed request leaves the out-parameters alone"
        );
        return (0, None);
    }
    let response = proto::FfiResponse::decode(unsafe { std::slice::from_raw_parts(ptr, len) })
        .expect("responses decode");
    assert!(
        livekit_ffi_drop_handle(id),
        "the response handle drops once"
    );
    (id, Some(response))
}

/// Sends a request; `None` when the library refused it.
pub fn try_request(message: Req) -> Option<Res> {
    let bytes = proto::FfiRequest {
        message: Some(message),
    }
    .encode_to_vec();
    raw_request(&bytes)
        .1
        .map(|r| r.message.expect("responses carry a message"))
}

/// Sends a request that must succeed.
pub fn request(message: Req) -> Res {
    let name = format!("{message:?}");
    try_request(message).unwrap_or_else(|| panic!("request refused: {name:.120}"))
}

/// Waits for the first event (received at any time) that `pick` accepts.
pub fn wait_event<T>(
    timeout: Duration,
    mut pick: impl FnMut(&proto::ffi_event::Message) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut events = EVENTS.lock().unwrap();
    loop {
        if let Some(found) = events
            .iter()
            .filter_map(|e| e.message.as_ref())
            .find_map(&mut pick)
        {
            return Some(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        events = ARRIVED.wait_timeout(events, deadline - now).unwrap().0;
    }
}

/// Every event `pick` accepts so far.
pub fn collect_events<T>(mut pick: impl FnMut(&proto::ffi_event::Message) -> Option<T>) -> Vec<T> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| e.message.as_ref())
        .filter_map(&mut pick)
        .collect()
}

/// Whether any captured log record's message contains `text`.
///
/// Events, logs included, reach the host from the library's dispatch
/// thread, so a record may arrive just after the request that logged it
/// returned: this waits up to 2 s for it.
pub fn logged(text: &str) -> bool {
    wait_event(2 * SECOND, |m| match m {
        proto::ffi_event::Message::Logs(batch) => batch
            .records
            .iter()
            .any(|r| r.message.contains(text))
            .then_some(()),
        _ => None,
    })
    .is_some()
}

/// No test may ever see a Panic event.
pub fn assert_no_panic() {
    let panics = collect_events(|m| match m {
        proto::ffi_event::Message::Panic(p) => Some(p.message.clone()),
        _ => None,
    });
    assert!(panics.is_empty(), "panic events: {panics:?}");
}

/// Drops a handle that must be live.
pub fn drop_handle(id: u64) {
    assert!(livekit_ffi_drop_handle(id), "handle {id} was live");
}

pub const SECOND: Duration = Duration::from_secs(1);

/// A sine of `freq` Hz, interleaved over `channels`, at full-scale `amp`.
pub fn sine(freq: f64, rate: u32, channels: u32, samples: usize, amp: f64) -> Vec<i16> {
    let mut out = Vec::with_capacity(samples * channels as usize);
    for n in 0..samples {
        let v = (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / rate as f64).sin())
            as i16;
        out.extend(std::iter::repeat_n(v, channels as usize));
    }
    out
}

/// Reads the samples of an owned audio buffer and drops its handle.
pub fn take_audio(buffer: &proto::OwnedAudioFrameBuffer) -> Vec<i16> {
    let info = &buffer.info;
    let len = (info.samples_per_channel * info.num_channels) as usize;
    let data = unsafe { std::slice::from_raw_parts(info.data_ptr as *const i16, len) }.to_vec();
    drop_handle(buffer.handle.id);
    data
}

/// Reads the bytes of an owned video buffer (one packed block) and drops it.
pub fn take_video(buffer: &proto::OwnedVideoBuffer) -> Vec<u8> {
    let total: u32 = buffer.info.components.iter().map(|c| c.size).sum();
    let data =
        unsafe { std::slice::from_raw_parts(buffer.info.data_ptr as *const u8, total as usize) }
            .to_vec();
    drop_handle(buffer.handle.id);
    data
}
