//! Receives `FfiEvent`s from the library's threads and lets the benchmark
//! thread wait for a particular async callback.
//!
//! The callback must be thread-safe and must not block, and a callback can
//! arrive before `livekit_ffi_request` has even returned its `async_id`, so
//! completed ids are parked in a set that the waiter checks under the lock.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use livekit_ffi::proto::{FfiEvent, ffi_event};
use prost::Message;

#[derive(Default)]
struct State {
    /// Async ids whose CaptureAudioFrame callback has arrived, unclaimed.
    done: HashSet<u64>,
    /// First error reported by a callback or a Panic event.
    failure: Option<String>,
    /// Log records delivered through `FfiEvent.logs` (capture_logs = true).
    log_records: u64,
    /// Every event, whatever its kind.
    events: u64,
}

struct Sink {
    state: Mutex<State>,
    cond: Condvar,
}

static SINK: OnceLock<Sink> = OnceLock::new();

fn sink() -> &'static Sink {
    SINK.get_or_init(|| Sink {
        state: Mutex::new(State::default()),
        cond: Condvar::new(),
    })
}

/// The `extern "C"` function registered with `livekit_ffi_initialize`.
pub extern "C" fn on_event(ptr: *const u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the library passes `len` bytes valid for the call's duration.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    let Ok(event) = FfiEvent::decode(bytes) else {
        return;
    };
    let s = sink();
    let mut st = s.state.lock().unwrap();
    st.events += 1;
    match event.message {
        Some(ffi_event::Message::CaptureAudioFrame(cb)) => {
            if let Some(err) = cb.error {
                st.failure
                    .get_or_insert(format!("capture callback error: {err}"));
            }
            st.done.insert(cb.async_id);
            s.cond.notify_all();
        }
        Some(ffi_event::Message::Panic(p)) => {
            st.failure
                .get_or_insert(format!("panic event: {}", p.message));
            s.cond.notify_all();
        }
        Some(ffi_event::Message::Logs(batch)) => st.log_records += batch.records.len() as u64,
        _ => {}
    }
}

/// Blocks until the callback for `async_id` has arrived (or failed).
pub fn wait_for(async_id: u64, timeout: Duration) -> Result<(), String> {
    let s = sink();
    let deadline = Instant::now() + timeout;
    let mut st = s.state.lock().unwrap();
    loop {
        if let Some(f) = &st.failure {
            return Err(f.clone());
        }
        if st.done.remove(&async_id) {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "no callback for async_id {async_id} within {timeout:?}"
            ));
        }
        st = s.cond.wait_timeout(st, deadline - now).unwrap().0;
    }
}

/// A Panic event seen so far, if any (checked after synchronous workloads).
pub fn failure() -> Option<String> {
    sink().state.lock().unwrap().failure.clone()
}

/// (events, log records) received so far.
pub fn counters() -> (u64, u64) {
    let st = sink().state.lock().unwrap();
    (st.events, st.log_records)
}
