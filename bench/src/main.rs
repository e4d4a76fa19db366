//! `livekit-bench`: our `liblivekit_ffi.so` against the official one, at the
//! C ABI, each library measured in its own child process.
//!
//! Usage:
//!   livekit-bench --official PATH --ours PATH [--rounds N] [--json OUT]
//!                 [--budget-ms MS] [--only id,id] [--no-capture-logs]
//!                 [--stat median|min]
//!
//! The parent never loads a library; it re-executes itself with the hidden
//! `--worker LIB WORKLOAD BUDGET_MS CAPTURE_LOGS` arguments.

mod events;
mod ffi;
mod measure;
mod report;
mod runner;
mod size;
mod worker;
mod workloads;

use std::time::Duration;

use serde_json::json;

use report::{Goal, Row, Stat};
use runner::RunConfig;

const USAGE: &str = "usage: livekit-bench --official PATH --ours PATH [--rounds N] [--json OUT] \
[--budget-ms MS] [--only id,id] [--no-capture-logs] [--stat median|min]";

struct Args {
    official: String,
    ours: String,
    rounds: usize,
    json: Option<String>,
    budget_ms: u64,
    only: Option<Vec<String>>,
    capture_logs: bool,
    stat: Stat,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        official: String::new(),
        ours: String::new(),
        rounds: 5,
        json: None,
        budget_ms: 600,
        only: None,
        capture_logs: true,
        stat: Stat::Median,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--official" => a.official = value()?,
            "--ours" => a.ours = value()?,
            "--rounds" => a.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--json" => a.json = Some(value()?),
            "--budget-ms" => {
                a.budget_ms = value()?.parse().map_err(|e| format!("--budget-ms: {e}"))?
            }
            "--only" => a.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--no-capture-logs" => a.capture_logs = false,
            "--stat" => a.stat = Stat::parse(&value()?).ok_or("--stat takes median or min")?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.official.is_empty() || a.ours.is_empty() || a.rounds == 0 {
        return Err(USAGE.into());
    }
    Ok(a)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--worker") {
        if argv.len() != 5 {
            eprintln!("--worker LIB WORKLOAD BUDGET_MS CAPTURE_LOGS");
            std::process::exit(2);
        }
        let budget = argv[3].parse().unwrap_or(600);
        worker::main(&argv[1], &argv[2], budget, argv[4] == "1");
    }
    let args = match parse_args(argv.into_iter()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let specs: Vec<_> = match &args.only {
        None => workloads::ALL.iter().collect(),
        Some(ids) => {
            let found: Option<Vec<_>> = ids.iter().map(|id| workloads::find(id)).collect();
            found.unwrap_or_else(|| {
                let known: Vec<_> = workloads::ALL.iter().map(|s| s.id).collect();
                eprintln!("--only takes ids from: {}", known.join(","));
                std::process::exit(2);
            })
        }
    };
    let cfg = RunConfig {
        budget_ms: args.budget_ms,
        capture_logs: args.capture_logs,
        timeout: Duration::from_millis(args.budget_ms * 3 + 60_000),
    };
    let runs = runner::run_all(&specs, [&args.official, &args.ours], args.rounds, &cfg);
    let mut rows = report::rows_from_runs(&runs);
    rows.push(Row {
        workload: "stripped .so size".into(),
        unit: "MB",
        official: size::stripped_mb(&args.official, "official").map(|x| vec![x]),
        ours: size::stripped_mb(&args.ours, "ours").map(|x| vec![x]),
        goal: Goal::UnderMb(7.0),
    });
    let header = format!(
        "## C ABI benchmark ({} rounds × {} ms per workload, capture_logs={})\n\nofficial: `{}`  \nours: `{}`",
        args.rounds, args.budget_ms, args.capture_logs, args.official, args.ours
    );
    print!("{}", report::markdown(&rows, &header, args.stat));
    if let Some(path) = &args.json {
        let meta = json!({
            "official": args.official,
            "ours": args.ours,
            "rounds": args.rounds,
            "budget_ms": args.budget_ms,
            "capture_logs": args.capture_logs,
        });
        let text = serde_json::to_string_pretty(&report::to_json(&rows, meta)).unwrap();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("writing {path}: {e}");
            std::process::exit(1);
        }
    }
}
