//! The hidden `--worker` mode: one library, one workload, one process.
//!
//! Both libraries keep process-wide state and threads, so measuring them in
//! the same process would let one disturb the other. The worker prints a
//! single `RESULT {json}` line and leaves with `_exit`, skipping static
//! destructors of a library whose runtime threads may still be running.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::workloads;

pub const RESULT_PREFIX: &str = "RESULT ";

/// Runs the workload and terminates the process; never returns.
pub fn main(lib: &str, workload: &str, budget_ms: u64, capture_logs: bool) -> ! {
    let outcome = workloads::run(
        workload,
        lib,
        Duration::from_millis(budget_ms),
        capture_logs,
    );
    let line = match outcome {
        Ok(s) => json!({
            "ops": s.ops,
            "cpu_ns": s.cpu.as_nanos() as u64,
            "wall_ns": s.wall.as_nanos() as u64,
            "rss_kb": s.rss_kb,
            "threads": s.threads,
            "events": s.events,
            "log_records": s.log_records,
        }),
        Err(e) => json!({ "error": e }),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{RESULT_PREFIX}{line}");
    let _ = out.flush();
    // SAFETY: terminating the process; nothing after this runs.
    unsafe { libc::_exit(0) }
}
