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
        if CAPTURE.load(Ordering::Relaxed) {
            metadata.level() <= CAPTURE_LEVEL
        } else {
            self.stderr.enabled(metadata)
        }
    }

    fn log(&self, record: &Record) {
        if !CAPTURE.load(Ordering::Relaxed) {
            self.stderr.log(record);
            return;
        }
        if record.level() > CAPTURE_LEVEL {
            return;
        }
        let record = proto::LogRecord {
            level: level_of(record.level()) as i32,
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

fn level_of(level: Level) -> proto::LogLevel {
    match level {
        Level::Error => proto::LogLevel::LogError,
        Level::Warn => proto::LogLevel::LogWarn,
        Level::Info => proto::LogLevel::LogInfo,
        Level::Debug => proto::LogLevel::LogDebug,
        Level::Trace => proto::LogLevel::LogTrace,
    }
}
