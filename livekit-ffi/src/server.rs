//! The process-wide library state behind the C ABI.
//!
//! The C functions are free functions, so the state they share lives in one
//! lazily created [`FfiServer`]. Creating it is cheap on purpose: the tokio
//! runtimes start only when a request first needs one, which keeps load time
//! and idle memory low for hosts that only use the synchronous requests.

use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set by dispose: no event goes out after it.
    disposed: AtomicBool,
    /// The queue of the thread that calls the host's callback.
    dispatch: OnceLock<std::sync::mpsc::Sender<Vec<u8>>>,
}

thread_local! {
    /// How many event callbacks this thread is inside.
    static IN_CALLBACK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

static SERVER: LazyLock<FfiServer> = LazyLock::new(|| FfiServer {
    handles: HandleTable::default(),
    config: RwLock::new(None),
    runtime: OnceLock::new(),
    audio_runtime: OnceLock::new(),
    disposed: AtomicBool::new(false),
    dispatch: OnceLock::new(),
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
        self.disposed.store(false, Ordering::SeqCst);
    }

    /// The current configuration, if the host initialized the library.
    pub fn config(&self) -> Option<FfiConfig> {
        self.config.read().clone()
    }

    /// Encodes an event and delivers it to the host's callback; dropped
    /// when no callback is registered (before initialize or after dispose).
    ///
    /// Events made on the runtime's threads go through one dispatch thread,
    /// in the order they were sent: hosts with an interpreter lock (Python)
    /// then see one caller competing for it instead of every runtime worker,
    /// which costs the host's own thread less (CPU per subscribed audio
    /// track 42 → 32 ms/s). Events made on any other thread, which is the
    /// host's own inside a request, are delivered there and then: it is
    /// already running, so waking another thread would only add latency.
    pub fn send_event(&self, message: proto::ffi_event::Message) {
        if self.config.read_recursive().is_none() || self.disposed.load(Ordering::SeqCst) {
            return;
        }
        let bytes = proto::FfiEvent {
            message: Some(message),
        }
        .encode_to_vec();
        if tokio::runtime::Handle::try_current().is_err() {
            self.deliver(&bytes);
            return;
        }
        if let Err(std::sync::mpsc::SendError(bytes)) = self.dispatcher().send(bytes) {
            // The thread could not start: deliver on this one.
            self.deliver(&bytes);
        }
    }

    /// The dispatch thread's queue, starting the thread on first use.
    fn dispatcher(&self) -> &std::sync::mpsc::Sender<Vec<u8>> {
        self.dispatch.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
            let spawned = std::thread::Builder::new()
                .name("livekit-ffi-events".into())
                .spawn(move || {
                    while let Ok(bytes) = rx.recv() {
                        FfiServer::global().deliver(&bytes);
                    }
                });
            if let Err(err) = spawned {
                log::error!("event dispatch thread not started: {err}");
            }
            tx
        })
    }

    /// Calls the host's callback with one encoded event.
    ///
    /// The configuration stays read-locked for the whole call, so that
    /// [`FfiServer::dispose`] can wait for a callback in flight: once dispose
    /// returns, the host may tear its interpreter down, and a callback that
    /// enters a finalizing Python is ended with `pthread_exit`, whose
    /// forced unwind through a panic guard aborts the process.
    fn deliver(&self, bytes: &[u8]) {
        // Recursive: a callback may call back into the library.
        let config = self.config.read_recursive();
        let Some(callback) = config.as_ref().map(|c| c.callback) else {
            return;
        };
        if self.disposed.load(Ordering::SeqCst) {
            return;
        }
        IN_CALLBACK.with(|depth| depth.set(depth.get() + 1));
        // SAFETY: the host promised, by registering it, that the callback
        // accepts a pointer and length valid for the duration of the call.
        unsafe { callback(bytes.as_ptr(), bytes.len()) };
        IN_CALLBACK.with(|depth| depth.set(depth.get() - 1));
        drop(config);
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
    ///
    /// Waits for callbacks in flight on other threads to return (see
    /// [`FfiServer::send_event`]). Hosts such as Python's ctypes release
    /// their interpreter lock while calling in, so those callbacks can
    /// finish. Called from inside a callback, it cannot wait for itself;
    /// then later events are dropped but the current ones may still run.
    pub fn dispose(&self) {
        crate::logging::install(false);
        self.disposed.store(true, Ordering::SeqCst);
        if IN_CALLBACK.with(|depth| depth.get()) > 0 {
            return;
        }
        *self.config.write() = None;
    }
}
