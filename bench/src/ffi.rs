//! Loads one `liblivekit_ffi.so` with dlopen and speaks its C ABI.
//!
//! The benchmark must never link either implementation: both libraries keep
//! global state (handle table, runtimes, logger), so each is reached only
//! through the four exported symbols, in a process of its own.

use std::ffi::{CString, c_char};

use libloading::Library;
use livekit_ffi::proto::{FfiRequest, FfiResponse, ffi_request, ffi_response};
use prost::Message;

/// Signature of the event callback handed to `livekit_ffi_initialize`.
pub type EventCallback = extern "C" fn(*const u8, usize);

type InitializeFn = unsafe extern "C" fn(EventCallback, bool, *const c_char, *const c_char);
type RequestFn = unsafe extern "C" fn(*const u8, usize, *mut *const u8, *mut usize) -> u64;
type DropHandleFn = unsafe extern "C" fn(u64) -> bool;

/// One loaded library plus scratch buffers reused across requests, so the
/// harness itself allocates as little as possible inside the timed loops.
pub struct FfiLib {
    initialize: InitializeFn,
    request: RequestFn,
    drop_handle: DropHandleFn,
    encoded: Vec<u8>,
    response: Vec<u8>,
    // Kept last so the symbols above never outlive the mapping.
    _lib: Library,
}

impl FfiLib {
    /// dlopen the library and resolve the symbols the benchmark uses.
    pub fn load(path: &str) -> Result<Self, String> {
        // SAFETY: loading a shared object runs its initialisers; both
        // candidates are LiveKit FFI builds that expect exactly this.
        let lib = unsafe { Library::new(path) }.map_err(|e| format!("dlopen {path}: {e}"))?;
        // SAFETY: the types match the C ABI both libraries export.
        unsafe {
            let initialize = *lib
                .get::<InitializeFn>(b"livekit_ffi_initialize\0")
                .map_err(|e| e.to_string())?;
            let request = *lib
                .get::<RequestFn>(b"livekit_ffi_request\0")
                .map_err(|e| e.to_string())?;
            let drop_handle = *lib
                .get::<DropHandleFn>(b"livekit_ffi_drop_handle\0")
                .map_err(|e| e.to_string())?;
            Ok(Self {
                initialize,
                request,
                drop_handle,
                encoded: Vec::with_capacity(256),
                response: Vec::with_capacity(256),
                _lib: lib,
            })
        }
    }

    /// Calls `livekit_ffi_initialize` the way an SDK would.
    pub fn initialize(&self, cb: EventCallback, capture_logs: bool) {
        let sdk = CString::new("rust-bench").unwrap();
        let version = CString::new(env!("CARGO_PKG_VERSION")).unwrap();
        // SAFETY: the strings outlive the call; the library copies them.
        unsafe { (self.initialize)(cb, capture_logs, sdk.as_ptr(), version.as_ptr()) }
    }

    /// One full round-trip: encode, call, copy the response bytes, drop the
    /// response handle, decode. A 0 handle becomes an error.
    pub fn request(&mut self, message: ffi_request::Message) -> Result<FfiResponse, String> {
        let req = FfiRequest {
            message: Some(message),
        };
        self.encoded.clear();
        req.encode(&mut self.encoded).map_err(|e| e.to_string())?;
        let mut ptr: *const u8 = std::ptr::null();
        let mut len: usize = 0;
        // SAFETY: valid input slice and out-pointers for the duration of the call.
        let id = unsafe {
            (self.request)(
                self.encoded.as_ptr(),
                self.encoded.len(),
                &mut ptr,
                &mut len,
            )
        };
        if id == 0 {
            let name = format!("{:?}", req.message.as_ref().unwrap());
            let name = name.split('(').next().unwrap_or("?");
            return Err(format!("{name} request returned handle 0"));
        }
        self.response.clear();
        if len > 0 {
            // SAFETY: the library guarantees `len` readable bytes at `ptr`
            // until the response handle is dropped.
            self.response
                .extend_from_slice(unsafe { std::slice::from_raw_parts(ptr, len) });
        }
        self.drop_handle(id)?;
        FfiResponse::decode(self.response.as_slice()).map_err(|e| format!("decode response: {e}"))
    }

    /// Drops a handle the library handed us; `false` from the library is an error.
    pub fn drop_handle(&self, id: u64) -> Result<(), String> {
        // SAFETY: plain integer argument.
        if unsafe { (self.drop_handle)(id) } {
            Ok(())
        } else {
            Err(format!("drop_handle({id}) returned false"))
        }
    }
}

/// Extracts the expected response variant, naming the one that came instead.
#[macro_export]
macro_rules! expect_response {
    ($resp:expr, $variant:ident) => {
        match $resp.message {
            Some(livekit_ffi::proto::ffi_response::Message::$variant(r)) => Ok(r),
            other => Err(format!(
                "expected {} response, got {}",
                stringify!($variant),
                $crate::ffi::variant_name(&other)
            )),
        }
    };
}

/// Short name of a response variant for error messages.
pub fn variant_name(m: &Option<ffi_response::Message>) -> String {
    match m {
        None => "an empty response".into(),
        Some(m) => {
            let dbg = format!("{m:?}");
            dbg.split('(').next().unwrap_or("?").to_string()
        }
    }
}
