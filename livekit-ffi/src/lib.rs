//! The C ABI of the LiveKit client engine.
//!
//! LiveKit's SDKs for Python, Unity/C# and Node drive a native library
//! through four C functions and protobuf messages (package `livekit.proto`,
//! in `protos/`). This crate is that library: a drop-in replacement for the
//! official `liblivekit_ffi`, built on the pure-Rust engine in `livekit-core`.
//!
//! - [`abi`]: the exported functions and their panic boundaries.
//! - [`handles`]: ids for everything the host owns.
//! - [`requests`]: one handler per request, grouped by area.
//! - [`server`]: process-wide state, runtimes and event delivery.
//!
//! The crate is thin on purpose: it converts messages and owns handles, and
//! leaves the work to the engine.
//!
//! ```no_run
//! use livekit_ffi::proto;
//! use prost::Message;
//!
//! unsafe extern "C" fn on_event(_data: *const u8, _len: usize) {}
//!
//! unsafe {
//!     livekit_ffi::livekit_ffi_initialize(Some(on_event), false, c"rust".as_ptr(), c"0".as_ptr());
//!     let request = proto::FfiRequest {
//!         message: Some(proto::ffi_request::Message::NewAudioResampler(
//!             proto::NewAudioResamplerRequest {},
//!         )),
//!     };
//!     let bytes = request.encode_to_vec();
//!     let (mut ptr, mut len) = (std::ptr::null(), 0);
//!     let id = livekit_ffi::livekit_ffi_request(bytes.as_ptr(), bytes.len(), &mut ptr, &mut len);
//!     let response = proto::FfiResponse::decode(std::slice::from_raw_parts(ptr, len)).unwrap();
//!     livekit_ffi::livekit_ffi_drop_handle(id);
//!     # let _ = response;
//! }
//! ```

pub mod abi;
mod convert;
mod error;
pub mod handles;
mod logging;
mod requests;
pub mod server;

pub use abi::{
    livekit_ffi_dispose, livekit_ffi_drop_handle, livekit_ffi_initialize, livekit_ffi_request,
};
pub use error::{FfiError, FfiResult};

/// The generated protocol messages.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/livekit.proto.rs"));
}

/// The compiled `protos/` as an encoded `FileDescriptorSet`, so tests can
/// compare our protocol with the one the official SDK embeds.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
