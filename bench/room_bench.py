#!/usr/bin/env python3
"""Room benchmark: our liblivekit_ffi.so against the official one in real rooms.

Both run under the official Python SDK, against a local livekit-server.

Each (round, library) runs in a fresh subprocess of this script (a process can
load only one FFI library): the official library is the wheel's own
(LIVEKIT_LIB_PATH unset), ours is selected with LIVEKIT_LIB_PATH. Rounds
alternate which library goes first. Inside a worker, two participants A and B
(two rtc.Room in the same process, same library) go through these phases:

1. baseline RSS (Python + `import livekit.rtc`, library not loaded yet), then
   load + initialize the library (not timed here: see python_bench.py);
2. A connects to a fresh room (Room.connect() call to return, which includes
   the ConnectCallback); idle 1 s; RSS and thread count;
3. B connects to the now occupied room (timed the same way);
4. first data from B: B publishes a reliable packet right after its connect()
   returned; time from that return until A's data_received (publisher
   negotiation + data channel open on B's side);
   first data from A: A (connected for over a second, never published) publishes
   one; time from the publish_data call until B's data_received;
5. RTT: A publishes a small reliable packet, B publishes it back from its
   data_received handler, A takes the time in its own handler; a few warm-up
   round trips, then --rtt-count of them, one at a time: p50 and p99;
6. throughput: A awaits publish_data for --mb MB of 15 KiB reliable packets,
   one after the other (as fast as publish_data allows); MB/s = bytes received
   by B / (first publish call → B's last data_received); CPU time (user+sys,
   all threads of the process: both participants and the library's threads)
   over the same interval. The SDK's publish_data copies the payload into a
   ctypes array element by element, which costs milliseconds per 15 KiB packet
   and hides the library, so the phase is repeated with the same request made
   from a ctypes buffer built once (publish_prebuilt below).

Every cell of the table is the median over the rounds. The script starts its
own livekit-server (scripts/livekit-server.sh, in a private state directory)
and stops it at the end, unless --url is given.

Usage: python3 bench/room_bench.py [--ours PATH] [--rounds N] [--rtt-count N]
                                   [--mb MB] [--url ws://...] [--json FILE]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_SCRIPT = os.path.join(REPO_ROOT, "scripts", "livekit-server.sh")
DEFAULT_OURS = os.path.join(REPO_ROOT, "target", "release", "liblivekit_ffi.so")
RESULT = "RESULT "
PACKET = 15 * 1024  # throughput packet size
RTT_WARMUP = 20
NOISE = 0.85  # as in python_bench.py: a ratio this close below 1 is noise


# ---------------------------------------------------------------- worker side


def proc_status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    return out


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


async def publish_prebuilt(lp, cbuf, topic: str) -> None:
    """LocalParticipant.publish_data (livekit 1.2.0) with the payload already in
    a ctypes buffer: same request, same wait for the callback."""
    from livekit.rtc._ffi_client import FfiClient
    from livekit.rtc._proto import ffi_pb2

    req = ffi_pb2.FfiRequest()
    req.publish_data.local_participant_handle = lp._ffi_handle.handle
    req.publish_data.data_ptr = ctypes.addressof(cbuf)
    req.publish_data.data_len = len(cbuf)
    req.publish_data.reliable = True
    req.publish_data.topic = topic
    queue = FfiClient.instance.queue.subscribe()
    try:
        resp = FfiClient.instance.request(req)
        cb = await queue.wait_for(lambda e: e.publish_data.async_id == resp.publish_data.async_id)
    finally:
        FfiClient.instance.queue.unsubscribe(queue)
    if cb.publish_data.error:
        raise RuntimeError(f"publish_data: {cb.publish_data.error}")


async def worker(cfg: dict) -> dict:
    import asyncio

    from livekit import rtc
    from livekit.rtc._ffi_client import FfiClient

    res: dict = {}
    res["rss_base_mb"] = proc_status()["rss_mb"]
    FfiClient.instance  # dlopen + livekit_ffi_initialize, outside the timings
    loop = asyncio.get_running_loop()
    url, timeout = cfg["url"], cfg["timeout"]
    a, b = rtc.Room(loop=loop), rtc.Room(loop=loop)

    # Handlers, by topic. Every handler takes its clock first.
    waiters: dict[str, asyncio.Future] = {}
    ping_recv: list[float] = []  # when B's handler saw each ping
    bulk = {"n": 0, "bytes": 0, "last": 0.0, "want": -1, "done": loop.create_future()}

    def on_a(pkt: rtc.DataPacket) -> None:
        t = time.perf_counter()
        fut = waiters.pop(pkt.topic, None)
        if fut is not None and not fut.done():
            fut.set_result((t, pkt.data))

    def on_b(pkt: rtc.DataPacket) -> None:
        t = time.perf_counter()
        if pkt.topic == "bulk":
            bulk["n"] += 1
            bulk["bytes"] += len(pkt.data)
            bulk["last"] = t
            if bulk["n"] == bulk["want"] and not bulk["done"].done():
                bulk["done"].set_result(t)
            return
        if pkt.topic == "ping":
            ping_recv.append(t)
            loop.create_task(b.local_participant.publish_data(pkt.data, topic="pong"))
            return
        fut = waiters.pop(pkt.topic, None)
        if fut is not None and not fut.done():
            fut.set_result((t, pkt.data))

    a.on("data_received", on_a)
    b.on("data_received", on_b)

    def expect(topic: str) -> asyncio.Future:
        fut = loop.create_future()
        waiters[topic] = fut
        return fut

    try:
        # A: fresh room.
        t0 = time.perf_counter()
        await asyncio.wait_for(a.connect(url, cfg["token_a"]), timeout)
        res["connect_first_ms"] = (time.perf_counter() - t0) * 1e3
        await asyncio.sleep(1.0)
        st = proc_status()
        res["rss_room_mb"] = st["rss_mb"]
        res["threads_room"] = st["threads"]

        # B: occupied room, then its first packet to A.
        fut = expect("first-b")
        t0 = time.perf_counter()
        await asyncio.wait_for(b.connect(url, cfg["token_b"]), timeout)
        t1 = time.perf_counter()
        res["connect_second_ms"] = (t1 - t0) * 1e3
        await asyncio.wait_for(b.local_participant.publish_data(b"first from b", topic="first-b"), timeout)
        res["first_data_b_publish_return_ms"] = (time.perf_counter() - t1) * 1e3
        t_recv, _ = await asyncio.wait_for(fut, timeout)
        res["first_data_b_ms"] = (t_recv - t1) * 1e3

        # A's first packet (A has been connected and idle since step 2).
        fut = expect("first-a")
        t0 = time.perf_counter()
        await asyncio.wait_for(a.local_participant.publish_data(b"first from a", topic="first-a"), timeout)
        t_recv, _ = await asyncio.wait_for(fut, timeout)
        res["first_data_a_ms"] = (t_recv - t0) * 1e3

        # RTT, one ping in flight at a time.
        # Both participants share the process, hence the clock: each round
        # trip is also split into A→B (A's publish call → B's handler) and
        # B→A (B's handler → A's handler, including B's echo publish_data),
        # and A's publish_data await (call → completion callback) is kept.
        rtts, ab, ba, pub = [], [], [], []
        for i in range(RTT_WARMUP + cfg["rtt_count"]):
            payload = b"%016d" % i
            fut = expect("pong")
            ping_recv.clear()
            t0 = time.perf_counter()
            await a.local_participant.publish_data(payload, topic="ping")
            t_pub = time.perf_counter()
            t_recv, data = await asyncio.wait_for(fut, timeout)
            if data != payload:
                raise RuntimeError(f"pong {data!r} for ping {payload!r}")
            if i >= RTT_WARMUP:
                rtts.append((t_recv - t0) * 1e3)
                pub.append((t_pub - t0) * 1e3)
                if ping_recv:
                    ab.append((ping_recv[0] - t0) * 1e3)
                    ba.append((t_recv - ping_recv[0]) * 1e3)
        res["rtt_p50_ms"] = pct(rtts, 50)
        res["rtt_p99_ms"] = pct(rtts, 99)
        res["rtt_max_ms"] = max(rtts)
        res["rtt_ab_p50_ms"] = pct(ab, 50)
        res["rtt_ba_p50_ms"] = pct(ba, 50)
        res["publish_await_p50_ms"] = pct(pub, 50)

        # Throughput A -> B.
        n = math.ceil(cfg["mb"] * 1e6 / PACKET)
        bulk["want"] = n
        payload = os.urandom(PACKET)
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            await a.local_participant.publish_data(payload, topic="bulk")
        t_sent = time.perf_counter()
        try:
            t_last = await asyncio.wait_for(bulk["done"], timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f"throughput: B got {bulk['n']}/{n} packets within {timeout} s") from None
        cpu = time.process_time() - c0
        res["tput_mb_s"] = bulk["bytes"] / 1e6 / (t_last - t0)
        res["tput_send_mb_s"] = n * PACKET / 1e6 / (t_sent - t0)
        res["tput_cpu_ms"] = cpu * 1e3
        res["tput_cpu_ms_per_mb"] = cpu * 1e3 / (bulk["bytes"] / 1e6)
        res["tput_bytes"] = bulk["bytes"]

        # The same again, minus the SDK's per-byte ctypes copy of the payload
        # (`(c_byte * n)(*payload)` in LocalParticipant.publish_data costs
        # milliseconds per 15 KiB packet and dominates the phase above): the
        # PublishData request is built the way the SDK builds it, from one
        # ctypes buffer made beforehand, and awaited the way the SDK awaits it.
        cbuf = (ctypes.c_byte * PACKET).from_buffer_copy(payload)
        bulk.update(n=0, bytes=0, want=n, done=loop.create_future())
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            await publish_prebuilt(a.local_participant, cbuf, "bulk")
        t_sent = time.perf_counter()
        try:
            t_last = await asyncio.wait_for(bulk["done"], timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f"throughput (pre-built): B got {bulk['n']}/{n} packets within {timeout} s") from None
        cpu = time.process_time() - c0
        res["tput2_mb_s"] = bulk["bytes"] / 1e6 / (t_last - t0)
        res["tput2_send_mb_s"] = n * PACKET / 1e6 / (t_sent - t0)
        res["tput2_cpu_ms"] = cpu * 1e3
        res["tput2_cpu_ms_per_mb"] = cpu * 1e3 / (bulk["bytes"] / 1e6)
    finally:
        for r in (b, a):
            try:
                if r.isconnected():
                    await asyncio.wait_for(r.disconnect(), 10)
            except Exception:
                pass
    return res


def worker_main(cfg_json: str) -> None:
    import asyncio

    cfg = json.loads(cfg_json)
    try:
        out = asyncio.run(worker(cfg))
    except BaseException as e:  # reported in the table cell, not fatal to the run
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(RESULT + json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip the SDK's atexit dispose; it is not what we measure


# ---------------------------------------------------------------- parent side

# (key, label, unit, better) -- better: "lower" / "higher" / None (information only)
METRICS = [
    ("connect_first_ms", "connect, 1st participant (fresh room)", "ms", "lower"),
    ("connect_second_ms", "connect, 2nd participant (occupied room)", "ms", "lower"),
    ("first_data_b_ms", "first data, 2nd participant: connect() return → received", "ms", "lower"),
    ("first_data_a_ms", "first data, 1st participant (idle 1 s+): publish → received", "ms", "lower"),
    ("rtt_p50_ms", "reliable RTT p50 (16 B ping-pong)", "ms", "lower"),
    ("rtt_p99_ms", "reliable RTT p99", "ms", "lower"),
    ("rtt_ab_p50_ms", "  RTT split: A publish → B handler, p50", "ms", None),
    ("rtt_ba_p50_ms", "  RTT split: B handler → A handler (B echoes), p50", "ms", None),
    ("publish_await_p50_ms", "  publish_data await (call → completion), p50", "ms", None),
    ("tput_mb_s", "throughput A→B, 15 KiB reliable, SDK publish_data (at B)", "MB/s", "higher"),
    ("tput_send_mb_s", "  publish_data rate at A (for information)", "MB/s", None),
    ("tput_cpu_ms", "CPU user+sys during throughput phase (whole process)", "ms", "lower"),
    ("tput_cpu_ms_per_mb", "  same per MB received", "ms/MB", "lower"),
    ("tput2_mb_s", "throughput A→B, same with pre-built buffer (no SDK copy)", "MB/s", "higher"),
    ("tput2_send_mb_s", "  publish rate at A (for information)", "MB/s", None),
    ("tput2_cpu_ms", "CPU user+sys during that phase (whole process)", "ms", "lower"),
    ("tput2_cpu_ms_per_mb", "  same per MB received", "ms/MB", "lower"),
    ("rss_base_mb", "RSS baseline: Python + import, library not loaded", "MB", None),
    ("rss_room_mb", "RSS: initialize + 1 room connected, idle 1 s", "MB", "lower"),
    ("rss_delta_mb", "RSS delta over baseline (library + room)", "MB", "lower"),
    ("threads_room", "threads with 1 room connected (for information)", "", None),
]


def server_script(*args: str, state_dir: str, timeout: float = 120) -> str:
    env = dict(os.environ, LIVEKIT_SERVER_STATE_DIR=state_dir)
    p = subprocess.run(["bash", SERVER_SCRIPT, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"livekit-server.sh {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def parse_env(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            out[k] = v.strip().strip("'\"")
    return out


def token(key: str, secret: str, identity: str, room: str) -> str:
    import warnings

    from livekit import api  # token minting only; does not load the FFI library

    warnings.filterwarnings("ignore", message="The HMAC key is")  # the dev secret is short

    return (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room, can_publish_data=True))
        .to_jwt()
    )


def spawn(lib: str | None, cfg: dict, timeout: float) -> dict:
    env = dict(os.environ)
    env.pop("LIVEKIT_LIB_PATH", None)
    if lib:
        env["LIVEKIT_LIB_PATH"] = lib
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)]
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


def value(r: dict, key: str) -> float:
    if key == "rss_delta_mb":
        return r["rss_room_mb"] - r["rss_base_mb"]
    return r[key]


def cell(results: list[dict], key: str) -> tuple[float | None, str]:
    errs = [r["error"] for r in results if "error" in r]
    if errs:
        return None, f"error: {errs[0]} ({len(errs)}/{len(results)} rounds failed)".replace("|", "/")
    v = statistics.median(value(r, key) for r in results)
    return v, fmt(v)


def table(runs: tuple[list, list], args, ours: str) -> str:
    lines = [
        f"## Room benchmark ({args.rounds} rounds; RTT {args.rtt_count} round trips; throughput {args.mb:g} MB)",
        "",
        f"official: the wheel's bundled library  \nours: `{ours}` (via LIVEKIT_LIB_PATH)",
        "",
        "Each cell is the median over the rounds. ratio > 1 means ours is better: "
        "official ÷ ours where lower is better, ours ÷ official where higher is better. "
        "Target: every row at least as good as the official (✓ met, ≈ within 15%: noise, ✗ missed).",
        "",
        "| metric | unit | better | official | ours | ratio | target |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    off, our = runs
    for key, label, unit, better in METRICS:
        a, a_s = cell(off, key)
        b, b_s = cell(our, key)
        ratio = None
        if better and a is not None and b is not None and a > 0 and b > 0:
            ratio = a / b if better == "lower" else b / a
        r_s = "—" if ratio is None else f"{ratio:.2f}×"
        mark = "" if ratio is None else "✓" if ratio >= 1 else "≈" if ratio >= NOISE else "✗"
        goal = "info" if not better else f"≥ 1× {mark}".rstrip()
        lines.append(f"| {label} | {unit} | {better or ''} | {a_s} | {b_s} | {r_s} | {goal} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", default=DEFAULT_OURS, help="our liblivekit_ffi.so")
    ap.add_argument("--official", help="official library (default: the wheel's own, LIVEKIT_LIB_PATH unset)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rtt-count", type=int, default=500, help="measured round trips per round")
    ap.add_argument("--mb", type=float, default=5.0, help="MB (10^6 bytes) sent in the throughput phase")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per phase in a worker")
    ap.add_argument("--url", help="use this running server (dev keys unless LIVEKIT_API_KEY/_SECRET are set)")
    ap.add_argument("--json", help="write every round's figures here")
    args = ap.parse_args()
    if not os.path.exists(args.ours):
        sys.exit(f"--ours {args.ours} does not exist (cargo build --release -p livekit-ffi)")

    state_dir = None
    if args.url:
        url = args.url
        key = os.environ.get("LIVEKIT_API_KEY", "devkey")
        secret = os.environ.get("LIVEKIT_API_SECRET", "secret")
    else:
        state_dir = tempfile.mkdtemp(prefix="room-bench-server-")
        server_script("install", state_dir=state_dir, timeout=1800)
        server_script("start", "--parent", str(os.getpid()), state_dir=state_dir)
        env = parse_env(server_script("env", state_dir=state_dir))
        url, key, secret = env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]
        print(f"livekit-server at {url}", file=sys.stderr)

    runs: tuple[list, list] = ([], [])
    worker_timeout = args.timeout * 8 + 60
    try:
        for rnd in range(args.rounds):
            order = [0, 1] if rnd % 2 == 0 else [1, 0]  # alternate who goes first
            for which in order:
                room = f"bench-{uuid.uuid4().hex[:10]}"
                cfg = {
                    "url": url,
                    "token_a": token(key, secret, "bench-a", room),
                    "token_b": token(key, secret, "bench-b", room),
                    "rtt_count": args.rtt_count,
                    "mb": args.mb,
                    "timeout": args.timeout,
                }
                lib = args.official if which == 0 else args.ours
                res = spawn(lib, cfg, worker_timeout)
                runs[which].append(res)
                who = ("official", "ours")[which]
                if "error" in res:
                    info = res["error"]
                else:
                    info = (
                        f"connect {res['connect_first_ms']:.0f}/{res['connect_second_ms']:.0f} ms, "
                        f"first data {res['first_data_b_ms']:.0f}/{res['first_data_a_ms']:.0f} ms, "
                        f"rtt p50 {res['rtt_p50_ms']:.2f} p99 {res['rtt_p99_ms']:.2f} ms, "
                        f"{res['tput_mb_s']:.1f} MB/s cpu {res['tput_cpu_ms']:.0f} ms, "
                        f"pre-built {res['tput2_mb_s']:.1f} MB/s cpu {res['tput2_cpu_ms']:.0f} ms, "
                        f"rss {res['rss_room_mb']:.1f} MB"
                    )
                print(f"round {rnd + 1}/{args.rounds} {who:<8} {info}", file=sys.stderr)
    finally:
        if state_dir:
            try:
                server_script("stop", state_dir=state_dir, timeout=60)
            except Exception as e:
                print(f"stopping the server: {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"official": runs[0], "ours": runs[1], "args": vars(args)}, f, indent=1)
    sys.stdout.write(table(runs, args, args.ours))


if __name__ == "__main__":
    main()
