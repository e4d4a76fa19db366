//! The workloads a worker process can run, and the timed loop they share.
//!
//! Each workload sets up what it needs once (resampler, APM, source, input
//! buffers) and then hands one closure per operation to [`timed`], which
//! warms up and then runs the operation for a fixed wall-clock budget. A
//! time budget instead of a fixed count keeps every round near the same
//! length on both libraries, whatever their speed.

mod audio;
mod capture;
mod video;

use std::time::{Duration, Instant};

use crate::events;
use crate::ffi::FfiLib;
use crate::measure::{self, Stamp};

/// How a workload's sample is turned into report rows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Many operations: per-op CPU and wall time.
    PerOp,
    /// One cold start: wall and CPU time, plus RSS and thread count.
    Startup,
}

/// The goal a row is judged against (ratio = official / ours).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Ours must not be slower than the official library.
    Parity,
    /// Ours must be at least twice as fast.
    Twice,
}

pub struct Spec {
    pub id: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub target: Target,
}

/// A workload timed per operation.
const fn per_op(id: &'static str, label: &'static str, target: Target) -> Spec {
    Spec {
        id,
        label,
        kind: Kind::PerOp,
        target,
    }
}

pub const ALL: &[Spec] = &[
    per_op(
        "roundtrip",
        "request round-trip: NewAudioResampler + drop",
        Target::Twice,
    ),
    per_op(
        "roundtrip_apm_delay",
        "request round-trip: ApmSetStreamDelay",
        Target::Twice,
    ),
    per_op(
        "remix",
        "RemixAndResample 10 ms 48k→16k mono",
        Target::Twice,
    ),
    per_op(
        "sox_medium",
        "PushSoxResampler 10 ms 48k→16k MEDIUM",
        Target::Twice,
    ),
    per_op(
        "sox_high",
        "PushSoxResampler 10 ms 48k→16k HIGH",
        Target::Twice,
    ),
    per_op(
        "rgba_to_i420",
        "VideoConvert 1280x720 RGBA→I420",
        Target::Parity,
    ),
    per_op(
        "i420_to_rgba",
        "VideoConvert 1280x720 I420→RGBA",
        Target::Parity,
    ),
    per_op(
        "apm",
        "APM process_stream 10 ms 48k mono, 4 features",
        Target::Parity,
    ),
    per_op(
        "capture",
        "CaptureAudioFrame 10 ms, queue 0, + callback",
        Target::Parity,
    ),
    Spec {
        id: "startup",
        label: "dlopen + initialize + first request",
        kind: Kind::Startup,
        target: Target::Parity,
    },
];

pub fn find(id: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.id == id)
}

/// What a worker measured.
pub struct Sample {
    pub ops: u64,
    pub cpu: Duration,
    pub wall: Duration,
    pub rss_kb: Option<u64>,
    pub threads: Option<u64>,
    pub events: u64,
    pub log_records: u64,
}

/// Loads, initializes and runs one workload in this (worker) process.
pub fn run(
    id: &str,
    lib_path: &str,
    budget: Duration,
    capture_logs: bool,
) -> Result<Sample, String> {
    if id == "startup" {
        return startup(lib_path, capture_logs);
    }
    let mut lib = FfiLib::load(lib_path)?;
    lib.initialize(events::on_event, capture_logs);
    let lib = &mut lib;
    let mut sample = match id {
        "roundtrip" => audio::roundtrip(lib, budget),
        "roundtrip_apm_delay" => audio::apm_delay(lib, budget),
        "remix" => audio::remix(lib, budget),
        "sox_medium" => audio::sox(lib, budget, false),
        "sox_high" => audio::sox(lib, budget, true),
        "rgba_to_i420" => video::convert(lib, budget, true),
        "i420_to_rgba" => video::convert(lib, budget, false),
        "apm" => audio::apm(lib, budget),
        "capture" => capture::capture(lib, budget),
        other => Err(format!("unknown workload {other}")),
    }?;
    if let Some(f) = events::failure() {
        return Err(f);
    }
    sample.rss_kb = measure::vm_rss_kb();
    sample.threads = measure::thread_count();
    Ok(sample)
}

/// Cold start: dlopen + initialize + the first cheap request, in a process
/// that has not touched the library before; then RSS and threads.
fn startup(lib_path: &str, capture_logs: bool) -> Result<Sample, String> {
    let start = Stamp::now();
    let mut lib = FfiLib::load(lib_path)?;
    lib.initialize(events::on_event, capture_logs);
    audio::new_resampler_and_drop(&mut lib)?;
    let (cpu, wall) = start.elapsed();
    let (events, log_records) = events::counters();
    Ok(Sample {
        ops: 1,
        cpu,
        wall,
        rss_kb: measure::vm_rss_kb(),
        threads: measure::thread_count(),
        events,
        log_records,
    })
}

/// Warms up for a tenth of `budget`, then runs `op` until `budget` of wall
/// time has passed, measuring CPU and wall time of the measured part only.
pub fn timed(
    budget: Duration,
    mut op: impl FnMut() -> Result<(), String>,
) -> Result<Sample, String> {
    let warm_until = Instant::now() + budget / 10;
    while Instant::now() < warm_until {
        op()?;
    }
    let (events0, logs0) = events::counters();
    let start = Stamp::now();
    let deadline = Instant::now() + budget;
    let mut ops = 0u64;
    loop {
        op()?;
        ops += 1;
        if Instant::now() >= deadline {
            break;
        }
    }
    let (cpu, wall) = start.elapsed();
    let (events1, logs1) = events::counters();
    Ok(Sample {
        ops,
        cpu,
        wall,
        rss_kb: None,
        threads: None,
        events: events1 - events0,
        log_records: logs1 - logs0,
    })
}

/// 10 ms of 48 kHz mono int16: a 500 Hz tone (five whole periods, so frames
/// join seamlessly) plus a little deterministic noise, so the audio
/// processors see a realistic signal rather than silence.
pub fn tone_10ms_48k() -> Vec<i16> {
    let mut seed = 0x1234_5678u32;
    (0..480)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 16) as i32 & 0x3ff) - 512;
            let t = i as f64 / 48_000.0;
            let tone = (2.0 * std::f64::consts::PI * 500.0 * t).sin() * 8_000.0;
            (tone as i32 + noise) as i16
        })
        .collect()
}
