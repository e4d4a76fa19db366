//! The process-wide library state behind the C ABI.
//!
//! The C functions are free functions, so the state they share lives in one
//! lazily created [`FfiServer`]. Creating it is cheap on purpose: the tokio
//! runtimes start only when a request first needs one, which keeps load time
//! and idle memory low for hosts that only use the synchronous requests.

use std::sync::{LazyLock, OnceLock};

use parking_lot::RwLock;
use prost::Message;

use crate::handles::HandleTable;
use crate::proto;

/// The callback the host registers to receive encoded `FfiEvent`s.
///
/// It may be called from any thread, several at once, and the bytes are only
/// valid during the call.
pub type FfiCallbackFn = unsafe extern "C" fn(data: *const u8, len: usize);

/// What `livekit_ffi_initialize` stored.
#[derive(Clone)]
pub struct FfiConfig {
    /// Where events go.
    pub callback: FfiCallbackFn,
    /// Whether log records become `LogBatch` events instead of stderr lines.
    pub capture_logs: bool,
    /// The SDK's name, reported to the server as `ClientInfo.sdk`.
    pub sdk: String,
    /// The SDK's version, reported as the `version` query parameter.
    pub sdk_version: String,
}

/// Process-wide state: configuration, handles and runtimes.
pub struct FfiServer {
    /// Every object the host owns.
    pub handles: HandleTable,
    config: RwLock<Option<FfiConfig>>,
    runtime: OnceLock<tokio::runtime::Runtime>,
    audio_runtime: OnceLock<tokio::runtime::Runtime>,
}

static SERVER: LazyLock<FfiServer> = LazyLock::new(|| FfiServer {
    handles: HandleTable::default(),
    config: RwLock::new(None),
    runtime: OnceLock::new(),
    audio_runtime: OnceLock::new(),
});

impl FfiServer {
    /// The one instance.
    pub fn global() -> &'static FfiServer {
        &SERVER
    }

    /// Stores (or replaces) the host's configuration.
    pub fn configure(&self, config: FfiConfig) {
        crate::logging::install(config.capture_logs);
        *self.config.write() = Some(config);
    }

    /// The current configuration, if the host initialized the library.
    pub fn config(&self) -> Option<FfiConfig> {
        self.config.read().clone()
    }

    /// Encodes and delivers an event to the host; dropped when no callback
    /// is registered (before initialize or after dispose).
    pub fn send_event(&self, message: proto::ffi_event::Message) {
        let Some(callback) = self.config.read().as_ref().map(|c| c.callback) else {
            return;
        };
        let bytes = proto::FfiEvent {
            message: Some(message),
        }
        .encode_to_vec();
        // SAFETY: the host promised, by registering it, that the callback
        // accepts a pointer and length valid for the duration of the call.
        unsafe { callback(bytes.as_ptr(), bytes.len()) };
    }

    /// The general-purpose runtime for async requests and streams.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .thread_name("livekit-ffi")
                    .enable_all()
                    .build()
                    .expect("the tokio runtime must start")
            })
            .handle()
    }

    /// A one-worker runtime for audio pacing, so capture timing does not
    /// compete with other work.
    pub fn audio_runtime(&self) -> &tokio::runtime::Handle {
        self.audio_runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("livekit-audio")
                    .enable_all()
                    .build()
                    .expect("the audio runtime must start")
            })
            .handle()
    }

    /// Ends the session: later events are dropped and log capture stops.
    /// Handles stay valid so the host can still drop them.
    pub fn dispose(&self) {
        *self.config.write() = None;
        crate::logging::install(false);
    }
}
