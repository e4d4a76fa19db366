//! Turns worker outcomes into the markdown table (and optional JSON).
//!
//! Every ratio is official ÷ ours of the medians, so above 1 always means
//! ours is better: faster for times, smaller for memory and file size.

use serde_json::{Value, json};

use crate::runner::{Outcome, WorkloadRuns};
use crate::workloads::{Kind, Target};

/// What a row is judged against.
#[derive(Clone, Copy)]
pub enum Goal {
    /// ratio ≥ 1.
    Parity,
    /// ratio ≥ 2.
    Twice,
    /// ours below this many MB.
    UnderMb(f64),
    /// Shown for information only.
    Info,
}

/// Per-round values of one metric, or the first error seen.
pub type Cell = Result<Vec<f64>, String>;

pub struct Row {
    pub workload: String,
    pub unit: &'static str,
    pub official: Cell,
    pub ours: Cell,
    pub goal: Goal,
}

/// Which per-round statistic the table shows (the JSON carries both).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Middle round: the default, robust to one disturbed round.
    Median,
    /// Best round: interference on a shared machine only ever adds time.
    Min,
}

impl Stat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "median" => Some(Self::Median),
            "min" | "best" => Some(Self::Min),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Median => "medians",
            Self::Min => "best rounds",
        }
    }

    fn of(self, v: &[f64]) -> f64 {
        match self {
            Self::Median => median(v),
            Self::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        }
    }
}

fn ratio_note(stat: Stat) -> String {
    format!(
        "ratio = official ÷ ours ({}): above 1 means ours is better \
(faster for times, smaller for RSS and file size).",
        stat.name()
    )
}
pub const TARGETS_NOTE: &str = "Targets: no row below the official; resamplers and request round-trip \
at 2× or better; stripped .so under 7 MB. (✓ met, ≈ within 15% of it: run-to-run noise, ✗ missed)";

fn goal_of(t: Target) -> Goal {
    match t {
        Target::Parity => Goal::Parity,
        Target::Twice => Goal::Twice,
    }
}

/// Applies `metric` to every round; any failed round makes the cell an error.
fn cell(outcomes: &[Outcome], metric: impl Fn(&Value) -> Option<f64>) -> Cell {
    let failed = outcomes.iter().filter(|o| o.is_err()).count();
    if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
        return Err(format!("{e} ({failed}/{} rounds failed)", outcomes.len()));
    }
    outcomes
        .iter()
        .map(|o| metric(o.as_ref().unwrap()).ok_or_else(|| "metric missing".to_string()))
        .collect()
}

fn field(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn per_op(v: &Value, k: &str) -> Option<f64> {
    Some(field(v, k)? / field(v, "ops")?.max(1.0) / 1e3)
}

/// Rows for every measured workload, in the order they were run.
pub fn rows_from_runs(runs: &[WorkloadRuns]) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in runs {
        let s = r.spec;
        let mut add = |suffix: &str, unit, goal, m: &dyn Fn(&Value) -> Option<f64>| {
            rows.push(Row {
                workload: format!("{}{suffix}", s.label),
                unit,
                official: cell(&r.official, m),
                ours: cell(&r.ours, m),
                goal,
            })
        };
        match s.kind {
            Kind::PerOp => {
                add(" (CPU)", "µs CPU/op", goal_of(s.target), &|v| {
                    per_op(v, "cpu_ns")
                });
                add(" (wall)", "µs wall/op", goal_of(s.target), &|v| {
                    per_op(v, "wall_ns")
                });
            }
            Kind::Startup => {
                add(" (wall)", "ms wall", Goal::Parity, &|v| {
                    Some(field(v, "wall_ns")? / 1e6)
                });
                add(" (CPU)", "ms CPU", Goal::Parity, &|v| {
                    Some(field(v, "cpu_ns")? / 1e6)
                });
                rows.push(Row {
                    workload: "RSS after initialize + 1 request".into(),
                    unit: "MB",
                    official: cell(&r.official, |v| Some(field(v, "rss_kb")? / 1024.0)),
                    ours: cell(&r.ours, |v| Some(field(v, "rss_kb")? / 1024.0)),
                    goal: Goal::Parity,
                });
                rows.push(Row {
                    workload: "threads after initialize + 1 request".into(),
                    unit: "count",
                    official: cell(&r.official, |v| field(v, "threads")),
                    ours: cell(&r.ours, |v| field(v, "threads")),
                    goal: Goal::Info,
                });
            }
        }
    }
    rows
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn fmt_num(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

fn show(c: &Cell, stat: Stat) -> String {
    match c {
        Ok(v) => fmt_num(stat.of(v)),
        Err(e) => format!("error: {}", e.replace('|', "/").replace('\n', " ")),
    }
}

fn ratio(r: &Row, stat: Stat) -> Option<f64> {
    match (&r.official, &r.ours) {
        (Ok(a), Ok(b)) if stat.of(b) > 0.0 => Some(stat.of(a) / stat.of(b)),
        _ => None,
    }
}

/// Ratios this close below a goal are within the run-to-run noise seen
/// when the official library is measured against itself on a busy machine.
const NOISE: f64 = 0.85;

/// Goal text plus ✓ (met), ≈ (within noise of it) or ✗ (missed).
fn target_text(r: &Row, stat: Stat) -> String {
    let ratio = ratio(r, stat);
    let judge = |need: f64| {
        ratio.map(|x| match x {
            x if x >= need => "✓",
            x if x >= need * NOISE => "≈",
            _ => "✗",
        })
    };
    let (text, mark) = match r.goal {
        Goal::Parity => ("≥ 1×".to_string(), judge(1.0)),
        Goal::Twice => ("≥ 2×".to_string(), judge(2.0)),
        Goal::UnderMb(mb) => (
            format!("ours < {mb} MB"),
            r.ours
                .as_ref()
                .ok()
                .map(|v| if stat.of(v) < mb { "✓" } else { "✗" }),
        ),
        Goal::Info => return "—".into(),
    };
    match mark {
        Some(m) => format!("{text} {m}"),
        None => text,
    }
}

/// The markdown table, preceded by the notes on ratio and targets.
pub fn markdown(rows: &[Row], header: &str, stat: Stat) -> String {
    let mut out = format!("{header}\n\n{}\n{TARGETS_NOTE}\n\n", ratio_note(stat));
    out.push_str("| workload | unit | official | ours | ratio | target |\n");
    out.push_str("|---|---|---:|---:|---:|---|\n");
    for r in rows {
        let ratio = ratio(r, stat).map_or("—".into(), |x| format!("{x:.2}×"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.workload,
            r.unit,
            show(&r.official, stat),
            show(&r.ours, stat),
            ratio,
            target_text(r, stat)
        ));
    }
    out
}

/// Machine-readable form of the same rows, per-round values included.
pub fn to_json(rows: &[Row], extra: Value) -> Value {
    let cell_json = |c: &Cell| match c {
        Ok(v) => json!({ "median": median(v), "min": Stat::Min.of(v), "rounds": v }),
        Err(e) => json!({ "error": e }),
    };
    json!({
        "meta": extra,
        "rows": rows.iter().map(|r| json!({
            "workload": r.workload,
            "unit": r.unit,
            "official": cell_json(&r.official),
            "ours": cell_json(&r.ours),
            "ratio_median": ratio(r, Stat::Median),
            "ratio_min": ratio(r, Stat::Min),
            "target": target_text(r, Stat::Median),
        })).collect::<Vec<_>>(),
    })
}
