//! Where log records go.
//!
//! With `capture_logs` the host wants records as `LogBatch` events (the
//! Python SDK turns them into `logging` records); otherwise they go to stderr,
//! filtered by `RUST_LOG` as usual for Rust programs. The logger is installed
//! once and switches between the two, because the `log` crate allows only one
//! global logger per process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::proto;
use crate::server::FfiServer;

static CAPTURE: AtomicBool = AtomicBool::new(false);
static LOGGER: OnceLock<FfiLogger> = OnceLock::new();

/// The most detailed level sent to the host: the Python SDK drops TRACE.
const CAPTURE_LEVEL: LevelFilter = LevelFilter::Debug;

struct FfiLogger {
    stderr: env_logger::Logger,
}

/// Installs the logger (once) and selects where records go.
pub fn install(capture: bool) {
    CAPTURE.store(capture, Ordering::Relaxed);
    let logger = LOGGER.get_or_init(|| FfiLogger {
        stderr: env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
            .build(),
    });
    // Fails only when the host process already installed another logger;
    // then our records go there, which is what that host asked for.
    let _ = log::set_logger(logger);
    log::set_max_level(if capture {
        CAPTURE_LEVEL
    } else {
        logger.stderr.filter()
    });
}

impl Log for FfiLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        if is_engine(metadata.target()) && metadata.level() > Level::Info {
            return false;
        }
        if CAPTURE.load(Ordering::Relaxed) {
            metadata.level() <= CAPTURE_LEVEL
        } else {
            self.stderr.enabled(metadata)
        }
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = effective_level(record);
        if !CAPTURE.load(Ordering::Relaxed) {
            if level == record.level() {
                self.stderr.log(record);
            } else {
                let demoted = Record::builder()
                    .level(level)
                    .target(record.target())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .args(*record.args())
                    .build();
                if self.stderr.enabled(demoted.metadata()) {
                    self.stderr.log(&demoted);
                }
            }
            return;
        }
        if level > CAPTURE_LEVEL {
            return;
        }
        let record = proto::LogRecord {
            level: level_of(level) as i32,
            target: record.target().to_owned(),
            module_path: record.module_path().map(str::to_owned),
            file: record.file().map(str::to_owned),
            line: record.line(),
            message: record.args().to_string(),
        };
        FfiServer::global().send_event(proto::ffi_event::Message::Logs(proto::LogBatch {
            records: vec![record],
        }));
    }

    fn flush(&self) {}
}

/// Whether a log target belongs to the WebRTC engine's own crates.
fn is_engine(target: &str) -> bool {
    target.starts_with("webrtc") || target.starts_with("rtc")
}

/// The level a record is reported at. The WebRTC engine's crates log
/// routine conditions as errors (an unresolvable STUN host on an offline
/// machine, a missing DTLS server name) and about fifteen DEBUG records per
/// packet. Their DEBUG and TRACE records are dropped in `enabled` (each
/// captured record is a synchronous call into the host, which would cost
/// more than the packet itself), and the rest are demoted to DEBUG: the
/// transport module reports what matters to users itself.
fn effective_level(record: &Record) -> Level {
    if is_engine(record.target()) {
        Level::Debug
    } else {
        record.level()
    }
}

fn level_of(level: Level) -> proto::LogLevel {
    match level {
        Level::Error => proto::LogLevel::LogError,
        Level::Warn => proto::LogLevel::LogWarn,
        Level::Info => proto::LogLevel::LogInfo,
        Level::Debug => proto::LogLevel::LogDebug,
        Level::Trace => proto::LogLevel::LogTrace,
    }
}
