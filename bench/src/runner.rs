//! The parent side: re-executes this binary as a worker for every
//! (round, workload, library), alternating which library goes first so
//! slow drift on a shared machine hits both equally.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::worker::RESULT_PREFIX;
use crate::workloads::Spec;

/// A worker's answer: the parsed JSON sample, or why there is none.
pub type Outcome = Result<Value, String>;

/// Settings shared by every worker of a run.
pub struct RunConfig {
    pub budget_ms: u64,
    pub capture_logs: bool,
    pub timeout: Duration,
}

/// Outcomes of one workload across rounds, for [official, ours].
pub struct WorkloadRuns {
    pub spec: &'static Spec,
    pub official: Vec<Outcome>,
    pub ours: Vec<Outcome>,
}

pub fn run_all(
    specs: &[&'static Spec],
    libs: [&str; 2],
    rounds: usize,
    cfg: &RunConfig,
) -> Vec<WorkloadRuns> {
    let mut runs: Vec<WorkloadRuns> = specs
        .iter()
        .map(|&spec| WorkloadRuns {
            spec,
            official: Vec::new(),
            ours: Vec::new(),
        })
        .collect();
    for round in 0..rounds {
        for wr in runs.iter_mut() {
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let outcome = run_worker(libs[which], wr.spec.id, cfg);
                eprintln!(
                    "round {}/{} {:<20} {:<8} {}",
                    round + 1,
                    rounds,
                    wr.spec.id,
                    ["official", "ours"][which],
                    summary(&outcome)
                );
                if which == 0 {
                    wr.official.push(outcome)
                } else {
                    wr.ours.push(outcome)
                }
            }
        }
    }
    runs
}

fn summary(o: &Outcome) -> String {
    match o {
        Err(e) => format!("error: {e}"),
        Ok(v) => {
            let ops = v["ops"].as_f64().unwrap_or(1.0).max(1.0);
            let cpu = v["cpu_ns"].as_f64().unwrap_or(0.0) / ops / 1e3;
            let wall = v["wall_ns"].as_f64().unwrap_or(0.0) / ops / 1e3;
            format!("{ops:>8} ops  cpu {cpu:>10.2} µs/op  wall {wall:>10.2} µs/op")
        }
    }
}

/// Spawns `self --worker lib workload budget capture_logs` and parses its
/// RESULT line; crashes, timeouts and reported errors become `Err`.
fn run_worker(lib: &str, workload: &str, cfg: &RunConfig) -> Outcome {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "--worker",
            lib,
            workload,
            &cfg.budget_ms.to_string(),
            if cfg.capture_logs { "1" } else { "0" },
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn worker: {e}"))?;
    // Drain both pipes on threads so a chatty library cannot fill one and stall.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if start.elapsed() > cfg.timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(format!("worker timed out after {:?}", cfg.timeout));
    };
    let Some(line) = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(RESULT_PREFIX))
    else {
        let tail = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "worker died ({status}) without a result; last stderr: {tail}"
        ));
    };
    let v: Value = serde_json::from_str(line).map_err(|e| format!("bad worker output: {e}"))?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => Err(e.to_string()),
        None => Ok(v),
    }
}
