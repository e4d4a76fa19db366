#!/usr/bin/env python3
"""Compare our liblivekit_ffi.so with the official one through the Python SDK.

Each (round, workload, library) runs in a fresh subprocess of this script,
because the SDK loads the library once per process and keeps global state:
the official library is the wheel's own (LIVEKIT_LIB_PATH unset), ours is
selected with LIVEKIT_LIB_PATH. Within a worker a workload warms up for a
tenth of its budget and then runs for the budget; CPU is time.process_time
(all threads of the process, so the library's own threads count too).

Usage: python3 bench/python_bench.py [--ours PATH] [--rounds N] [--budget-ms MS]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

DEFAULT_OURS = "/work/main/target/release/liblivekit_ffi.so"
RESULT = "RESULT "

# (id, label, kind, target) -- kind "op" gives per-op rows, "startup" a cold start.
WORKLOADS = [
    ("sox_medium", "AudioResampler.push 10 ms 48k→16k MEDIUM", "op", 2.0),
    ("sox_high", "AudioResampler.push 10 ms 48k→16k HIGH", "op", 2.0),
    ("remix", "remix_and_resample 10 ms 48k→16k (FfiClient)", "op", 2.0),
    ("rgba_to_i420", "VideoFrame.convert 720p RGBA→I420", "op", 1.0),
    ("i420_to_rgba", "VideoFrame.convert 720p I420→RGBA", "op", 1.0),
    ("apm", "AudioProcessingModule.process_stream 10 ms", "op", 1.0),
    ("capture", "AudioSource(queue 0).capture_frame 10 ms", "op", 1.0),
    ("startup", "first request (load + initialize)", "startup", 1.0),
]

RATIO_NOTE = (
    "ratio = official ÷ ours (medians): above 1 means ours is better "
    "(faster for times, smaller for RSS)."
)
TARGETS_NOTE = (
    "Targets: no row below the official; resamplers and request round-trip "
    "at 2× or better; stripped .so under 7 MB. (✓ met, ≈ within 15% of it: run-to-run noise, ✗ missed)"
)
NOISE = 0.85  # ratios this close below a goal are within official-vs-official noise


# ---------------------------------------------------------------- worker side


def tone_10ms_48k() -> bytearray:
    """10 ms of a 500 Hz tone plus a little noise, mono int16 (as in the Rust bench)."""
    import math
    import struct

    seed, out = 0x12345678, []
    for i in range(480):
        seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
        noise = ((seed >> 16) & 0x3FF) - 512
        out.append(int(math.sin(2 * math.pi * 500 * i / 48000) * 8000) + noise)
    return bytearray(struct.pack("<480h", *out))


def pattern(n: int) -> bytearray:
    return bytearray(((i * 7) ^ (i >> 9)) & 0xFF for i in range(n))


def timed(budget: float, op) -> dict:
    """Warm up for budget/10, then run `op` for `budget` seconds of wall time."""
    end = time.perf_counter() + budget / 10
    while time.perf_counter() < end:
        op()
    c0, w0 = time.process_time(), time.perf_counter()
    ops, deadline = 0, w0 + budget
    while True:
        op()
        ops += 1
        if time.perf_counter() >= deadline:
            break
    return {"ops": ops, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}


async def timed_async(budget: float, op) -> dict:
    end = time.perf_counter() + budget / 10
    while time.perf_counter() < end:
        await op()
    c0, w0 = time.process_time(), time.perf_counter()
    ops, deadline = 0, w0 + budget
    while True:
        await op()
        ops += 1
        if time.perf_counter() >= deadline:
            break
    return {"ops": ops, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}


def rss_mb() -> float | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def run_startup() -> dict:
    """Import time and the first request (which loads + initializes the
    library) are reported apart: the import is mostly Python and protobuf."""
    c0, w0 = time.process_time(), time.perf_counter()
    from livekit import rtc

    c1, w1 = time.process_time(), time.perf_counter()
    rtc.AudioResampler(48000, 16000)  # FfiClient: dlopen + initialize + one request
    c2, w2 = time.process_time(), time.perf_counter()
    return {
        "ops": 1,
        "import_cpu_s": c1 - c0,
        "import_wall_s": w1 - w0,
        "cpu_s": c2 - c1,
        "wall_s": w2 - w1,
        "rss_mb": rss_mb(),
    }


def run_remix(budget: float) -> dict:
    # AudioFrame.remix_and_resample is not public in livekit 1.2.0, so this
    # drives the request through the SDK's own FfiClient the way it would.
    from livekit import rtc
    from livekit.rtc._ffi_client import FfiClient, FfiHandle
    from livekit.rtc._proto import ffi_pb2

    req = ffi_pb2.FfiRequest()
    req.new_audio_resampler.SetInParent()
    handle = FfiHandle(FfiClient.instance.request(req).new_audio_resampler.resampler.handle.id)
    frame = rtc.AudioFrame(tone_10ms_48k(), 48000, 1, 480)

    def op():
        r = ffi_pb2.FfiRequest()
        r.remix_and_resample.resampler_handle = handle.handle
        r.remix_and_resample.buffer.CopyFrom(frame._proto_info())
        r.remix_and_resample.num_channels = 1
        r.remix_and_resample.sample_rate = 16000
        resp = FfiClient.instance.request(r)
        rtc.AudioFrame._from_owned_info(resp.remix_and_resample.buffer)

    return timed(budget, op)


def run_worker(workload: str, budget: float) -> dict:
    if workload == "startup":
        return run_startup()
    if workload == "remix":
        return run_remix(budget)
    from livekit import rtc
    from livekit.rtc._proto import video_frame_pb2 as pv

    frame = rtc.AudioFrame(tone_10ms_48k(), 48000, 1, 480)
    if workload in ("sox_medium", "sox_high"):
        q = rtc.AudioResamplerQuality.HIGH if workload == "sox_high" else rtc.AudioResamplerQuality.MEDIUM
        rs = rtc.AudioResampler(48000, 16000, num_channels=1, quality=q)
        return timed(budget, lambda: rs.push(frame))
    if workload in ("rgba_to_i420", "i420_to_rgba"):
        w, h = 1280, 720
        if workload == "rgba_to_i420":
            vf, dst = rtc.VideoFrame(w, h, pv.RGBA, pattern(w * h * 4)), pv.I420
        else:
            vf, dst = rtc.VideoFrame(w, h, pv.I420, pattern(w * h * 3 // 2)), pv.RGBA
        return timed(budget, lambda: vf.convert(dst))
    if workload == "apm":
        apm = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=True, high_pass_filter=True, auto_gain_control=True
        )
        template = bytes(frame.data.cast("B"))

        def op():
            frame._data[:] = template  # process_stream rewrites the frame in place
            apm.process_stream(frame)

        return timed(budget, op)
    if workload == "capture":
        import asyncio

        async def main():
            src = rtc.AudioSource(48000, 1, queue_size_ms=0)
            return await timed_async(budget, lambda: src.capture_frame(frame))

        return asyncio.run(main())
    raise ValueError(f"unknown workload {workload}")


def worker_main(workload: str, budget_ms: int) -> None:
    try:
        out = run_worker(workload, budget_ms / 1000)
    except Exception as e:  # reported in the table cell, not fatal to the run
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(RESULT + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip the SDK's atexit dispose; it is not what we measure


# ---------------------------------------------------------------- parent side


def spawn(workload: str, lib: str | None, budget_ms: int, timeout: float) -> dict:
    env = dict(os.environ)
    env.pop("LIVEKIT_LIB_PATH", None)
    if lib:
        env["LIVEKIT_LIB_PATH"] = lib
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", workload, str(budget_ms)]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    tail = next((l for l in reversed(p.stderr.splitlines()) if l.strip()), "")
    return {"error": f"worker died (exit {p.returncode}) without a result; last stderr: {tail}"}


def fmt(x: float) -> str:
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def cell(results: list[dict], metric) -> tuple[float | None, str]:
    errs = [r["error"] for r in results if "error" in r]
    if errs:
        return None, f"error: {errs[0]} ({len(errs)}/{len(results)} rounds failed)".replace("|", "/")
    v = statistics.median(metric(r) for r in results)
    return v, fmt(v)


def table(runs: dict, rounds: int, budget_ms: int, ours: str) -> str:
    lines = [
        f"## Python SDK benchmark ({rounds} rounds × {budget_ms} ms per workload)",
        "",
        f"official: the wheel's bundled library  \nours: `{ours}` (via LIVEKIT_LIB_PATH)",
        "",
        RATIO_NOTE,
        TARGETS_NOTE,
        "",
        "| workload | unit | official | ours | ratio | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for wid, label, kind, target in WORKLOADS:
        if wid not in runs:
            continue
        off, our = runs[wid]
        if kind == "op":
            metrics = [
                (f"{label} (CPU)", "µs CPU/op", lambda r: r["cpu_s"] / r["ops"] * 1e6, target),
                (f"{label} (wall)", "µs wall/op", lambda r: r["wall_s"] / r["ops"] * 1e6, target),
            ]
        else:
            metrics = [
                ("import livekit.rtc (Python only, same in both)", "ms wall", lambda r: r["import_wall_s"] * 1e3, 1.0),
                (f"{label} (wall)", "ms wall", lambda r: r["wall_s"] * 1e3, 1.0),
                (f"{label} (CPU)", "ms CPU", lambda r: r["cpu_s"] * 1e3, 1.0),
                ("RSS after import + first request", "MB", lambda r: r["rss_mb"], 1.0),
            ]
        for name, unit, metric, tgt in metrics:
            a, a_s = cell(off, metric)
            b, b_s = cell(our, metric)
            ratio = a / b if a is not None and b else None
            mark = "" if ratio is None else " ✓" if ratio >= tgt else " ≈" if ratio >= tgt * NOISE else " ✗"
            goal = f"≥ {tgt:g}×{mark}"
            r_s = "—" if ratio is None else f"{ratio:.2f}×"
            lines.append(f"| {name} | {unit} | {a_s} | {b_s} | {r_s} | {goal} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], int(sys.argv[3]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", default=DEFAULT_OURS, help="our liblivekit_ffi.so")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget-ms", type=int, default=600, help="measured time per workload per round")
    ap.add_argument("--only", help="comma-separated workload ids")
    args = ap.parse_args()
    if not os.path.exists(args.ours):
        sys.exit(f"--ours {args.ours} does not exist")
    ids = [w[0] for w in WORKLOADS]
    selected = args.only.split(",") if args.only else ids
    for wid in selected:
        if wid not in ids:
            sys.exit(f"--only takes ids from: {','.join(ids)}")
    runs = {wid: ([], []) for wid in selected}
    timeout = args.budget_ms * 3 / 1000 + 60
    for rnd in range(args.rounds):
        for wid in selected:
            order = [0, 1] if rnd % 2 == 0 else [1, 0]  # alternate who goes first
            for which in order:
                lib = None if which == 0 else args.ours
                res = spawn(wid, lib, args.budget_ms, timeout)
                runs[wid][which].append(res)
                who = ("official", "ours")[which]
                info = res.get("error") or f"{res['ops']} ops cpu {res['cpu_s']:.3f} s wall {res['wall_s']:.3f} s"
                print(f"round {rnd + 1}/{args.rounds} {wid:<14} {who:<8} {info}", file=sys.stderr)
    sys.stdout.write(table(runs, args.rounds, args.budget_ms, args.ours))


if __name__ == "__main__":
    main()
