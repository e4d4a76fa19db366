//! The exported C functions.
//!
//! Each one is a panic boundary: unwinding into the host is undefined
//! behaviour, and the official library's answer to a panic (a `Panic` event)
//! makes the Python SDK terminate its own process. So a panic here, which
//! would be a bug, is caught, logged, and turned into the ordinary failure
//! value of the function.

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use prost::Message;

use crate::handles::{FfiHandleId, INVALID_HANDLE};
use crate::proto;
use crate::requests;
use crate::server::{FfiConfig, FfiServer};

/// Response bytes waiting for the host to copy them and drop their handle;
/// the host reads them through the pointer it was given, never through this.
struct ResponseBuffer {
    _bytes: Box<[u8]>,
}

/// Runs `f`, turning a panic into `fallback` and an error log record.
fn guarded<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            log::error!("internal error in {what}: {reason}");
            fallback
        }
    }
}

/// Reads an optional C string, tolerating null and invalid UTF-8.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string.
unsafe fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// Configures the library: where events go, whether logs are captured as
/// events, and which SDK is calling. Calling it again replaces the settings.
///
/// # Safety
/// `sdk` and `sdk_version` are null or NUL-terminated strings. `cb`, when not
/// null, stays callable until `livekit_ffi_dispose` and is thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn livekit_ffi_initialize(
    cb: Option<unsafe extern "C" fn(data: *const u8, len: usize)>,
    capture_logs: bool,
    sdk: *const c_char,
    sdk_version: *const c_char,
) {
    guarded("livekit_ffi_initialize", (), || {
        // SAFETY: forwarded from this function's contract.
        let (sdk, sdk_version) = unsafe { (c_string(sdk), c_string(sdk_version)) };
        let Some(callback) = cb else {
            log::error!("livekit_ffi_initialize: the event callback is null");
            return;
        };
        FfiServer::global().configure(FfiConfig {
            callback,
            capture_logs,
            sdk,
            sdk_version,
        });
        log::info!("initializing livekit-ffi {}", env!("CARGO_PKG_VERSION"));
    })
}

/// Handles one encoded `FfiRequest`.
///
/// On success, returns the id of a handle that owns the encoded
/// `FfiResponse`, whose bytes are at `*res_ptr` / `*res_len` until the host
/// drops that id. On failure, returns 0, leaves the out-parameters untouched
/// and logs why.
///
/// # Safety
/// `data` points to `len` readable bytes (or `len` is 0); `res_ptr` and
/// `res_len` are writable. Pointers inside the request obey the protocol.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn livekit_ffi_request(
    data: *const u8,
    len: usize,
    res_ptr: *mut *const u8,
    res_len: *mut usize,
) -> FfiHandleId {
    guarded("livekit_ffi_request", INVALID_HANDLE, || {
        if res_ptr.is_null() || res_len.is_null() || (data.is_null() && len > 0) {
            log::error!("livekit_ffi_request: null pointer argument");
            return INVALID_HANDLE;
        }
        let bytes = if len == 0 {
            &[][..]
        } else {
            // SAFETY: non-null, `len` readable bytes per the contract.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        let server = FfiServer::global();
        let response = match proto::FfiRequest::decode(bytes) {
            Ok(request) => requests::handle(server, request),
            Err(err) => Err(crate::FfiError::invalid(format!(
                "the bytes are not an FfiRequest: {err}"
            ))),
        };
        let message = match response {
            Ok(message) => message,
            Err(err) => {
                log::error!("request failed: {err}");
                return INVALID_HANDLE;
            }
        };
        let encoded = proto::FfiResponse {
            message: Some(message),
        }
        .encode_to_vec()
        .into_boxed_slice();
        let (ptr, size) = (encoded.as_ptr(), encoded.len());
        let id = server.handles.insert(ResponseBuffer { _bytes: encoded });
        // SAFETY: checked non-null above; writable per the contract. The
        // bytes live in the handle table until the host drops `id`.
        unsafe {
            *res_ptr = ptr;
            *res_len = size;
        }
        id
    })
}

/// Releases the object behind `handle`. Returns false for an id that is not
/// held (never issued, or already dropped).
#[unsafe(no_mangle)]
pub extern "C" fn livekit_ffi_drop_handle(handle: FfiHandleId) -> bool {
    guarded("livekit_ffi_drop_handle", false, || {
        FfiServer::global().handles.drop_handle(handle)
    })
}

/// Ends the session: closes rooms, stops delivering events and stops log
/// capture. Handles stay droppable.
#[unsafe(no_mangle)]
pub extern "C" fn livekit_ffi_dispose() {
    guarded("livekit_ffi_dispose", (), || {
        requests::dispose_all(FfiServer::global());
        FfiServer::global().dispose();
    })
}
