//! CPU time, wall time and resident memory of the worker process.
//!
//! CPU time comes from `getrusage(RUSAGE_SELF)`, which sums user and system
//! time over every thread of the process, so work the library pushes onto
//! its own runtime threads is counted, not just the calling thread's.

use std::time::{Duration, Instant};

/// A point in time on both clocks.
#[derive(Clone, Copy)]
pub struct Stamp {
    wall: Instant,
    cpu: Duration,
}

impl Stamp {
    pub fn now() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    /// (cpu, wall) elapsed since `self`.
    pub fn elapsed(&self) -> (Duration, Duration) {
        let now = Self::now();
        (now.cpu.saturating_sub(self.cpu), now.wall - self.wall)
    }
}

/// User + system CPU time of the whole process.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// VmRSS from /proc/self/status, in KiB.
pub fn vm_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Number of threads in this process (from /proc/self/status).
pub fn thread_count() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
