#!/usr/bin/env python3
"""Audio benchmark: our liblivekit_ffi.so against the official one, publishing
and subscribing 48 kHz mono audio tracks in real rooms.

Both libraries run under the official Python SDK's public API (`livekit.rtc`)
against a local livekit-server (started by this script through
scripts/livekit-server.sh in a private state directory, stopped at the end,
unless --url is given). A process can load only one FFI library, so every
measurement runs in fresh child processes of this script: the official library
is the wheel's own (LIVEKIT_LIB_PATH unset, or --official), ours is selected
with LIVEKIT_LIB_PATH=--lib. Rounds alternate which library goes first; each
cell of the table is the median over the rounds.

Workloads, each run once per library and round:

1. Publishing. A helper process on the *official* library joins the room and
   subscribes to everything with an AudioStream per track (so only the
   publisher's library differs between the columns). Then the measured process
   joins, idles 1 s (RSS baseline, idle CPU), publishes --tracks tracks
   (default 4) from AudioSource(48000, 1, queue_size_ms=100), each fed in real
   time with 10 ms frames of a sine + noise mix (a different tone per track;
   the awaited capture_frame calls pace the feed, with a guard that sleeps if
   a library lets a feeder run ahead of real time), waits until the helper
   has subscribed to every track (local_track_subscribed; at most --timeout,
   then it carries on and says so), warms up (3 s, --quick 1 s), and
   measures the process CPU time (getrusage RUSAGE_SELF user + sys: every
   thread, so the library's own threads count) over --duration s (default 30,
   --quick 5). Reported as ms of CPU per track per second of audio, idle
   room cost included (shown on its own row, measured before publishing). An
   info row gives the part spent on the Python thread (time.thread_time() of
   the event loop: the SDK's Python side, one request and one callback per
   10 ms frame, the same work on both libraries). RSS growth (VmRSS from
   /proc/self/status) from the baseline to the end of the window (at least 5 s
   after the feeds started) divided by the number of tracks gives MB per
   published track. The helper reports how much audio it received per track
   per second and its level, which shows that the publisher's audio really
   arrived; a publisher whose audio does not reach the helper is reported as
   an error, not as a figure.

2. Subscribing. The reverse: the measured process joins first, idles 1 s
   (baseline), then a helper on the official library publishes --tracks
   tracks of the same mix; the measured process subscribes to all
   (auto-subscribe), opens an AudioStream (48 kHz mono) on each, consumes every
   frame, warms up once all tracks deliver, and measures CPU per track per
   second and RSS growth per subscribed track the same way.

3. End-to-end latency publisher -> server -> subscriber, both sides in ONE
   process (two rtc.Room, same library, same clock). The publisher sends
   10 ms frames of silence through AudioSource(48000, 1,
   queue_size_ms=--queue-ms, default 30), paced by the awaited capture_frame
   calls; every 500 ms (and only once the previous pulse was detected, so a
   pulse can never be matched with the wrong one) the frame handed over
   starts with a loud 10 ms 1 kHz click, and the wall time just before that
   capture_frame call is the send time. The subscriber's AudioStream consumer
   takes the wall time each frame arrives, finds click onsets (first sample
   above 1/4 of full scale after at least 100 ms under it), and places the
   onset at receive time + its offset in the frame / 48 kHz (playout
   convention: a frame handed over or received at t plays from t on, so the
   same convention applies to the sent frame whose click starts at offset 0).
   latency = onset time - send time; p50 and p95 over --pulses pulses
   (default 20, --quick 6). The pulses start after the subscriber has
   received 1 s of audio. A pulse not detected within --timeout is counted as
   lost.

Every wait in every process is bounded (--timeout per wait, a watchdog alarm
per process, a deadline per child in the parent): a library that cannot
publish or subscribe yet shows `error: ...` in its column and the run goes on.
No figure is asserted: the table is for reading.

Usage:
    python3 bench/audio_bench.py [--lib target/release/liblivekit_ffi.so]
        [--official PATH] [--quick] [--tracks 4] [--duration 30] [--pulses 20]
        [--rounds 1] [--url ws://... (dev keys unless LIVEKIT_API_KEY/_SECRET)]
        [--only pub,sub,latency] [--json FILE]

Official against itself (checks the noise; ratios should sit near 1.0):
    python3 bench/audio_bench.py --quick --lib "$(python3 -c 'import livekit.rtc,os;print(os.path.dirname(livekit.rtc.__file__))')/resources/liblivekit_ffi.so"
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_SCRIPT = os.path.join(REPO_ROOT, "scripts", "livekit-server.sh")
DEFAULT_OURS = os.path.join(REPO_ROOT, "target", "release", "liblivekit_ffi.so")
RESULT = "RESULT "
READY = "READY"
SR = 48000
FRAME_MS = 10
FRAME = SR * FRAME_MS // 1000  # samples per 10 ms frame
SOURCE_QUEUE_MS = 100  # AudioSource queue of the CPU workloads
PULSE_INTERVAL = 0.5  # s between clicks
CLICK_MS = 10
ONSET_THRESHOLD = 0.25  # of full scale
QUIET_BEFORE_ONSET = 0.1  # s under the threshold before an onset counts
MIN_STEADY_RSS = 5.0  # s of feeding before RSS is sampled
NOISE = 0.85  # ratios within [0.85, 1/0.85] are marked as noise


# ---------------------------------------------------------------- worker side


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


def dbfs(sum_sq: float, n: int) -> float:
    return 20 * math.log10(math.sqrt(sum_sq / n) + 1e-12) if n else float("-inf")


def mix_pcm(i: int):
    """1 s (loops seamlessly) of int16 mono: a tone (220 Hz * (i+1), whole
    periods per second) at -13 dBFS plus white noise at -30 dBFS."""
    import numpy as np

    rng = np.random.default_rng(1000 + i)
    t = np.arange(SR) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t) + 0.03 * rng.standard_normal(SR)
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


def send(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stop_event_from_stdin(loop):
    """An asyncio.Event set when the parent writes STOP or closes our stdin."""
    import asyncio

    ev = asyncio.Event()

    def reader() -> None:
        for line in sys.stdin:
            if line.strip() == "STOP":
                break
        loop.call_soon_threadsafe(ev.set)

    threading.Thread(target=reader, daemon=True).start()
    return ev


def token(key: str, secret: str, identity: str, room: str) -> str:
    import warnings

    from livekit import api  # token minting only; does not load the FFI library

    warnings.filterwarnings("ignore", message=".*HMAC key.*")  # the dev secret is short
    return (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True))
        .to_jwt()
    )


class Feeder:
    """Feeds one AudioSource with 10 ms frames taken from a looped buffer, in
    real time: the awaited capture_frame paces it; if a library returns from
    capture_frame without pacing, the feeder sleeps whenever it gets more than
    queue + 200 ms ahead of the wall clock."""

    def __init__(self, source, pcm, queue_ms: int):
        self.source = source
        self.pcm = pcm
        self.samples = 0
        self.guard = queue_ms / 1000 + 0.2
        self.error: str | None = None

    async def run(self, stop) -> None:
        import asyncio

        from livekit import rtc

        n = len(self.pcm)
        pos = 0
        t0 = time.perf_counter()
        try:
            while not stop.is_set():
                chunk = self.pcm[pos:pos + FRAME]
                pos = (pos + FRAME) % n
                await self.source.capture_frame(rtc.AudioFrame(chunk.tobytes(), SR, 1, FRAME))
                self.samples += FRAME
                ahead = self.samples / SR - (time.perf_counter() - t0) - self.guard
                if ahead > 0:
                    await asyncio.sleep(ahead)
        except Exception as e:  # reported by the worker
            self.error = f"capture_frame: {type(e).__name__}: {e}"


class Consumer:
    """Consumes an AudioStream: counts samples; measures the level of every
    `level_every`-th frame (all frames if 1)."""

    def __init__(self, stream, level_every: int = 1):
        self.stream = stream
        self.samples = 0
        self.frames = 0
        self.sum_sq = 0.0
        self.level_n = 0
        self.level_every = level_every
        self.first = None  # asyncio.Event-like: set by the worker
        self.error: str | None = None

    async def run(self) -> None:
        import numpy as np

        try:
            async for ev in self.stream:
                f = ev.frame
                self.samples += f.samples_per_channel
                self.frames += 1
                if self.frames % self.level_every == 0:
                    x = np.frombuffer(f.data, dtype=np.int16).astype(np.float64) / 32768
                    self.sum_sq += float(np.dot(x, x))
                    self.level_n += len(x)
        except Exception as e:
            self.error = f"AudioStream: {type(e).__name__}: {e}"


async def wait_until(cond, timeout: float, step: float = 0.02) -> bool:
    import asyncio

    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


async def connect(room, url: str, tok: str, timeout: float) -> None:
    import asyncio

    await asyncio.wait_for(room.connect(url, tok), timeout)


async def publish_tracks(room, n: int, queue_ms: int, timeout: float):
    """n AudioSources + LocalAudioTracks published on `room`: (sources, tracks)."""
    import asyncio

    from livekit import rtc

    sources, tracks = [], []
    for i in range(n):
        src = rtc.AudioSource(SR, 1, queue_size_ms=queue_ms)
        track = rtc.LocalAudioTrack.create_audio_track(f"mix-{i}", src)
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await asyncio.wait_for(room.local_participant.publish_track(track, opts), timeout)
        sources.append(src)
        tracks.append(track)
    return sources, tracks


async def disconnect(*rooms) -> None:
    import asyncio

    for r in rooms:
        try:
            if r.isconnected():
                await asyncio.wait_for(r.disconnect(), 10)
        except Exception:
            pass


async def measure_window(cfg: dict, t_feed: float, counters) -> dict:
    """CPU over cfg['duration'] s (all threads, and the calling thread alone:
    the event loop's, i.e. the SDK's Python side and this script); RSS at the end, at least MIN_STEADY_RSS s
    after t_feed. counters() -> total samples fed/received so far."""
    import asyncio

    c0, m0, t0, s0 = cpu_s(), time.thread_time(), time.perf_counter(), counters()
    await asyncio.sleep(cfg["duration"])
    c1, m1, t1, s1 = cpu_s(), time.thread_time(), time.perf_counter(), counters()
    late = t_feed + MIN_STEADY_RSS - time.perf_counter()
    if late > 0:
        await asyncio.sleep(late)
    return {"cpu_s": c1 - c0, "main_cpu_s": m1 - m0, "wall_s": t1 - t0, "samples": s1 - s0, "rss_mb": rss_mb()}


async def idle_baseline(res: dict, seconds: float) -> float:
    import asyncio

    c0, t0 = cpu_s(), time.perf_counter()
    await asyncio.sleep(seconds)
    res["idle_cpu_ms_per_s"] = (cpu_s() - c0) * 1e3 / (time.perf_counter() - t0)
    rss0 = rss_mb()
    res["rss_connected_mb"] = rss0
    return rss0


async def role_pub(cfg: dict) -> dict:
    """Measured publisher (workload 1)."""
    import asyncio

    from livekit import rtc
    from livekit.rtc._ffi_client import FfiClient

    res: dict = {"rss_base_mb": rss_mb()}
    FfiClient.instance
    loop = asyncio.get_running_loop()
    n, timeout = cfg["tracks"], cfg["timeout"]
    room = rtc.Room(loop=loop)
    subscribed: set[str] = set()
    room.on("local_track_subscribed", lambda track: subscribed.add(track.sid))
    stop = asyncio.Event()
    try:
        await connect(room, cfg["url"], cfg["token"], timeout)
        rss0 = await idle_baseline(res, cfg["idle"])
        sources, _tracks = await publish_tracks(room, n, SOURCE_QUEUE_MS, timeout)
        feeders = [Feeder(s, mix_pcm(i), SOURCE_QUEUE_MS) for i, s in enumerate(sources)]
        t_feed = time.perf_counter()
        tasks = [loop.create_task(f.run(stop)) for f in feeders]
        ok = await wait_until(lambda: len(subscribed) >= n, timeout)
        res["local_track_subscribed"] = len(subscribed)
        res["subscribed_wait_s"] = time.perf_counter() - t_feed
        if not ok:
            print(f"pub: local_track_subscribed for {len(subscribed)}/{n} tracks within {timeout:.0f} s; "
                  "measuring anyway", file=sys.stderr)
        await asyncio.sleep(cfg["warmup"])
        w = await measure_window(cfg, t_feed, lambda: sum(f.samples for f in feeders))
        errs = [f.error for f in feeders if f.error]
        if errs:
            raise RuntimeError(errs[0])
        res["cpu_ms_per_track_s"] = w["cpu_s"] * 1e3 / (n * w["wall_s"])
        res["main_cpu_ms_per_track_s"] = w["main_cpu_s"] * 1e3 / (n * w["wall_s"])
        res["rss_per_track_mb"] = (w["rss_mb"] - rss0) / n
        res["fed_per_track_s"] = w["samples"] / SR / n / w["wall_s"]
        res["window_s"] = w["wall_s"]
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    finally:
        stop.set()
        await disconnect(room)
    return res


async def role_sub(cfg: dict) -> dict:
    """Measured subscriber (workload 2)."""
    import asyncio

    from livekit import rtc
    from livekit.rtc._ffi_client import FfiClient

    res: dict = {"rss_base_mb": rss_mb()}
    FfiClient.instance
    loop = asyncio.get_running_loop()
    n, timeout = cfg["tracks"], cfg["timeout"]
    room = rtc.Room(loop=loop)
    consumers: list[Consumer] = []
    tasks = []
    handler_err: list[str] = []

    def on_track(track, _pub, _participant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            try:
                c = Consumer(rtc.AudioStream(track, loop=loop, sample_rate=SR, num_channels=1), level_every=25)
            except Exception as e:
                handler_err.append("new AudioStream: " + describe_error(e))
                return
            consumers.append(c)
            tasks.append(loop.create_task(c.run()))

    room.on("track_subscribed", on_track)
    try:
        await connect(room, cfg["url"], cfg["token"], timeout)
        rss0 = await idle_baseline(res, cfg["idle"])
        send(READY)  # the parent starts the publishing helper now
        t_wait = time.perf_counter()
        if not await wait_until(lambda: len(consumers) >= n or handler_err, timeout):
            raise RuntimeError(f"track_subscribed for {len(consumers)}/{n} tracks within {timeout:.0f} s")
        if handler_err:
            raise RuntimeError(handler_err[0])
        if not await wait_until(lambda: all(c.samples > 0 for c in consumers), timeout):
            got = sum(c.samples > 0 for c in consumers)
            raise RuntimeError(f"audio frames on {got}/{n} subscribed tracks within {timeout:.0f} s")
        t_feed = time.perf_counter()
        res["first_audio_s"] = t_feed - t_wait
        await asyncio.sleep(cfg["warmup"])
        w = await measure_window(cfg, t_feed, lambda: sum(c.samples for c in consumers))
        errs = [c.error for c in consumers if c.error]
        if errs:
            raise RuntimeError(errs[0])
        res["cpu_ms_per_track_s"] = w["cpu_s"] * 1e3 / (n * w["wall_s"])
        res["main_cpu_ms_per_track_s"] = w["main_cpu_s"] * 1e3 / (n * w["wall_s"])
        res["rss_per_track_mb"] = (w["rss_mb"] - rss0) / n
        res["recv_per_track_s"] = w["samples"] / SR / n / w["wall_s"]
        res["recv_level_dbfs"] = dbfs(sum(c.sum_sq for c in consumers), sum(c.level_n for c in consumers))
        res["window_s"] = w["wall_s"]
    finally:
        await disconnect(room)
        for t in tasks:
            t.cancel()
    return res


async def role_sub_helper(cfg: dict) -> dict:
    """Official-library subscriber for workload 1: subscribes to every audio
    track, consumes it, reports what arrived when told to stop."""
    import asyncio

    from livekit import rtc

    loop = asyncio.get_running_loop()
    stop = stop_event_from_stdin(loop)
    room = rtc.Room(loop=loop)
    consumers: list[Consumer] = []
    tasks = []

    def on_track(track, _pub, _participant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            c = Consumer(rtc.AudioStream(track, loop=loop, sample_rate=SR, num_channels=1))
            consumers.append(c)
            tasks.append(loop.create_task(c.run()))

    room.on("track_subscribed", on_track)
    try:
        await connect(room, cfg["url"], cfg["token"], cfg["timeout"])
        send(READY)
        # Per-track totals are sampled when the publisher reports its window,
        # the parent then sends STOP; report what arrived overall.
        t0 = time.perf_counter()
        await stop.wait()
        wall = time.perf_counter() - t0
    finally:
        await disconnect(room)
        for t in tasks:
            t.cancel()
    return {
        "tracks": len(consumers),
        "recv_s": [c.samples / SR for c in consumers],
        "wall_s": wall,
        "level_dbfs": dbfs(sum(c.sum_sq for c in consumers), sum(c.level_n for c in consumers)),
    }


async def role_pub_helper(cfg: dict) -> dict:
    """Official-library publisher for workload 2: publishes the tracks and
    feeds them until told to stop."""
    import asyncio

    from livekit import rtc

    loop = asyncio.get_running_loop()
    stop = stop_event_from_stdin(loop)
    room = rtc.Room(loop=loop)
    tasks = []
    try:
        await connect(room, cfg["url"], cfg["token"], cfg["timeout"])
        sources, _tracks = await publish_tracks(room, cfg["tracks"], SOURCE_QUEUE_MS, cfg["timeout"])
        feeders = [Feeder(s, mix_pcm(i), SOURCE_QUEUE_MS) for i, s in enumerate(sources)]
        tasks = [loop.create_task(f.run(stop)) for f in feeders]
        send(READY)
        await stop.wait()
    finally:
        stop.set()
        await disconnect(room)
        for t in tasks:
            t.cancel()
    return {"fed_s": [f.samples / SR for f in feeders] if tasks else []}


async def role_latency(cfg: dict) -> dict:
    """Workload 3: publisher and subscriber in this one process."""
    import asyncio

    import numpy as np
    from livekit import rtc
    from livekit.rtc._ffi_client import FfiClient

    FfiClient.instance
    loop = asyncio.get_running_loop()
    timeout = cfg["timeout"]
    pub, sub = rtc.Room(loop=loop), rtc.Room(loop=loop)

    silence = np.zeros(FRAME, dtype=np.int16).tobytes()
    k = SR * CLICK_MS // 1000
    click = np.zeros(FRAME, dtype=np.int16)
    click[:k] = (0.9 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(k) / SR)).astype(np.int16)
    click = click.tobytes()

    st = {
        "recv_samples": 0,   # samples received so far
        "last_loud": -SR,    # index of the last sample above the threshold
        "onsets": [],        # onset times (playout convention), in order
        "sent": [],          # send times of the clicks, in order
        "stream": None,
        "error": None,
    }
    thr = int(ONSET_THRESHOLD * 32768)

    async def consume(stream) -> None:
        try:
            async for ev in stream:
                t = time.perf_counter()
                x = np.frombuffer(ev.frame.data, dtype=np.int16)
                base = st["recv_samples"]
                loud = np.flatnonzero(np.abs(x.astype(np.int32)) > thr)
                if len(loud):
                    j = int(loud[0])
                    if base + j - st["last_loud"] > QUIET_BEFORE_ONSET * SR:
                        st["onsets"].append(t + j / ev.frame.sample_rate)
                    st["last_loud"] = base + int(loud[-1])
                st["recv_samples"] += len(x)
        except Exception as e:
            st["error"] = f"AudioStream: {type(e).__name__}: {e}"

    tasks = []

    def on_track(track, _pub, _participant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and st["stream"] is None:
            try:
                st["stream"] = rtc.AudioStream(track, loop=loop, sample_rate=SR, num_channels=1)
            except Exception as e:
                st["stream"] = False
                st["error"] = "new AudioStream: " + describe_error(e)
                return
            tasks.append(loop.create_task(consume(st["stream"])))

    sub.on("track_subscribed", on_track)
    stop = asyncio.Event()
    want = cfg["pulses"]
    res: dict = {}
    try:
        await connect(pub, cfg["url"], cfg["token_pub"], timeout)
        await connect(sub, cfg["url"], cfg["token_sub"], timeout)
        source = rtc.AudioSource(SR, 1, queue_size_ms=cfg["queue_ms"])
        track = rtc.LocalAudioTrack.create_audio_track("pulses", source)
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await asyncio.wait_for(pub.local_participant.publish_track(track, opts), timeout)

        pulse = {"due": False}
        feed_err: list[str] = []

        async def feed() -> None:
            try:
                while not stop.is_set():
                    if pulse["due"]:
                        pulse["due"] = False
                        st["sent"].append(time.perf_counter())
                        await source.capture_frame(rtc.AudioFrame(click, SR, 1, FRAME))
                    else:
                        await source.capture_frame(rtc.AudioFrame(silence, SR, 1, FRAME))
            except Exception as e:
                feed_err.append(f"capture_frame: {type(e).__name__}: {e}")

        tasks.append(loop.create_task(feed()))
        if not await wait_until(lambda: st["stream"] is not None, timeout):
            raise RuntimeError(f"the subscriber got no track_subscribed within {timeout:.0f} s")
        if st["error"]:
            raise RuntimeError(st["error"])
        if not await wait_until(lambda: st["recv_samples"] >= SR or feed_err or st["error"], timeout):
            raise RuntimeError(f"the subscriber received {st['recv_samples'] / SR:.2f} s of audio "
                               f"within {timeout:.0f} s (needs 1 s before the pulses)")
        if feed_err or st["error"]:
            raise RuntimeError((feed_err or [st["error"]])[0])
        lost = 0
        for i in range(want):
            t_next = (st["sent"][-1] + PULSE_INTERVAL) if st["sent"] else 0.0
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
            n_on = len(st["onsets"])
            pulse["due"] = True
            if not await wait_until(lambda: len(st["onsets"]) > n_on or feed_err, timeout, step=0.005):
                lost += 1
                # Resynchronise: a late onset of this pulse must not be taken
                # for the next one.
                await asyncio.sleep(1.0)
                del st["onsets"][n_on:]
                st["sent"][-1:] = []
                continue
            if feed_err:
                raise RuntimeError(feed_err[0])
            if len(st["onsets"]) > n_on + 1:
                raise RuntimeError(f"{len(st['onsets']) - n_on} onsets detected for one pulse")
        if st["error"]:
            raise RuntimeError(st["error"])
        lat = [(o - s) * 1e3 for o, s in zip(st["onsets"], st["sent"])]
        res["pulses_detected"] = len(lat)
        res["pulses_lost"] = lost
        if len(lat) < max(1, want // 2):
            raise RuntimeError(f"only {len(lat)}/{want} pulses detected")
        res["latency_ms"] = lat
        res["lat_p50_ms"] = pct(lat, 50)
        res["lat_p95_ms"] = pct(lat, 95)
        res["lat_min_ms"] = min(lat)
        res["lat_max_ms"] = max(lat)
    finally:
        stop.set()
        await disconnect(sub, pub)
        for t in tasks:
            t.cancel()
    return res


ROLES = {
    "pub": role_pub,
    "sub": role_sub,
    "sub_helper": role_sub_helper,
    "pub_helper": role_pub_helper,
    "latency": role_latency,
}


def describe_error(e: BaseException) -> str:
    """Type and message, and where it was raised (the SDK raises some bare
    AssertionErrors)."""
    import traceback

    msg = f"{type(e).__name__}: {e}".strip().rstrip(":")
    tb = traceback.extract_tb(e.__traceback__)
    mine = [i for i, f in enumerate(tb) if f.filename == os.path.abspath(__file__)]
    frames = tb[mine[-1] if mine else -1:][-4:]
    if frames:
        msg += " (at " + " → ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames) + ")"
    return msg


def worker_main(cfg_json: str) -> None:
    import asyncio
    import logging

    cfg = json.loads(cfg_json)
    # Watchdog: whatever happens, this process ends.
    signal.alarm(int(cfg["max_time"]))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        out = asyncio.run(ROLES[cfg["role"]](cfg))
    except BaseException as e:  # reported in the table cell, not fatal to the run
        out = {"error": describe_error(e)}
    send(RESULT + json.dumps(out))
    os._exit(0)  # skip the SDK's atexit dispose; it is not what we measure


# ---------------------------------------------------------------- parent side


class Child:
    """A worker process: lines of its stdout in a queue, stderr in a file."""

    def __init__(self, lib: str | None, cfg: dict, name: str):
        env = dict(os.environ)
        env.pop("LIVEKIT_LIB_PATH", None)
        if lib:
            env["LIVEKIT_LIB_PATH"] = lib
        self.name = name
        self.err = tempfile.TemporaryFile(mode="w+")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)]
        self.p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def stderr_tail(self) -> str:
        self.err.seek(0)
        lines = [l for l in self.err.read().splitlines() if l.strip()]
        return lines[-1].strip() if lines else ""

    def expect(self, prefix: str, timeout: float) -> str:
        """The rest of the first stdout line starting with prefix; a RESULT
        with an error instead, a timeout or the child's exit raise."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.name}: no {prefix.strip()} within {timeout:.0f} s") from None
            if line is None:
                self.p.wait()
                raise RuntimeError(f"{self.name} exited ({self.p.returncode}) before {prefix.strip()}; "
                                   f"last stderr: {self.stderr_tail()}")
            if line.startswith(prefix):
                return line[len(prefix):]
            if line.startswith(RESULT) and prefix != RESULT:
                r = json.loads(line[len(RESULT):])
                raise RuntimeError(f"{self.name}: {r.get('error', 'ended early')}")

    def result(self, timeout: float) -> dict:
        r = json.loads(self.expect(RESULT, timeout))
        if "error" in r:
            raise RuntimeError(f"{self.name}: {r['error']}")
        return r

    def stop(self) -> None:
        try:
            self.p.stdin.write("STOP\n")
            self.p.stdin.close()
        except Exception:
            pass

    def close(self) -> None:
        self.stop()
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()


def run_pub(lib, official, cfg, room, key, secret) -> dict:
    t = cfg["timeout"]
    helper = Child(official, dict(cfg, role="sub_helper", token=token(key, secret, "listener", room),
                                  max_time=cfg["max_time"] + 60),
                   "subscriber helper (official)")
    meas = None
    try:
        helper.expect(READY, t + 20)
        meas = Child(lib, dict(cfg, role="pub", token=token(key, secret, "publisher", room)), "publisher")
        res = meas.result(cfg["max_time"] + 10)
        helper.stop()
        h = helper.result(30)
    finally:
        if meas:
            meas.close()
        helper.close()
    n = cfg["tracks"]
    res["helper_tracks"] = h["tracks"]
    res["helper_level_dbfs"] = h["level_dbfs"]
    res["helper_recv_s"] = sum(h["recv_s"]) / n
    if h["tracks"] < n or min(h["recv_s"], default=0) < 0.5:
        raise RuntimeError(f"the official subscriber got {h['tracks']}/{n} tracks, "
                           f"audio per track {[round(s, 1) for s in h['recv_s']]} s: the publisher's audio "
                           f"did not arrive (publisher figures: {json.dumps(res)})")
    return res


def run_sub(lib, official, cfg, room, key, secret) -> dict:
    meas = Child(lib, dict(cfg, role="sub", token=token(key, secret, "listener", room)), "subscriber")
    helper = None
    try:
        meas.expect(READY, cfg["timeout"] * 2 + cfg["idle"] + 20)
        helper = Child(official, dict(cfg, role="pub_helper", token=token(key, secret, "publisher", room),
                                      max_time=cfg["max_time"] + 60),
                       "publisher helper (official)")
        res = meas.result(cfg["max_time"] + 10)
    finally:
        if helper:
            helper.close()
        meas.close()
    return res


def run_latency(lib, official, cfg, room, key, secret) -> dict:
    meas = Child(lib, dict(cfg, role="latency", token_pub=token(key, secret, "clicker", room),
                           token_sub=token(key, secret, "listener", room)), "latency worker")
    try:
        return meas.result(cfg["max_time"] + 10)
    finally:
        meas.close()


WORKLOADS = {"pub": run_pub, "sub": run_sub, "latency": run_latency}

# (workload, key, label, unit, better) -- better: "lower" / None (information)
METRICS = [
    ("pub", "cpu_ms_per_track_s", "CPU per published track (48 kHz mono, whole process)", "ms/s", "lower"),
    ("pub", "main_cpu_ms_per_track_s", "  of which the Python thread (SDK + this script)", "ms/s", None),
    ("pub", "rss_per_track_mb", "RSS growth per published track", "MB", "lower"),
    ("pub", "idle_cpu_ms_per_s", "  publisher idle in the room before publishing", "ms/s", None),
    ("pub", "fed_per_track_s", "  audio captured per track per s (pacing check, ~1)", "s/s", None),
    ("pub", "helper_recv_s", "  audio received by the official subscriber per track", "s", None),
    ("pub", "helper_level_dbfs", "  its level (sent: about -13.5 dBFS)", "dBFS", None),
    ("sub", "cpu_ms_per_track_s", "CPU per subscribed track (AudioStream, whole process)", "ms/s", "lower"),
    ("sub", "main_cpu_ms_per_track_s", "  of which the Python thread (SDK + this script)", "ms/s", None),
    ("sub", "rss_per_track_mb", "RSS growth per subscribed track", "MB", "lower"),
    ("sub", "idle_cpu_ms_per_s", "  subscriber idle in the room before subscribing", "ms/s", None),
    ("sub", "recv_per_track_s", "  audio received per track per s (~1)", "s/s", None),
    ("sub", "recv_level_dbfs", "  its level (sent: about -13.5 dBFS)", "dBFS", None),
    ("sub", "first_audio_s", "  publisher helper start → audio on every track", "s", None),
    ("latency", "lat_p50_ms", "end-to-end audio latency p50 (click onset)", "ms", "lower"),
    ("latency", "lat_p95_ms", "end-to-end audio latency p95", "ms", "lower"),
    ("latency", "lat_min_ms", "  min", "ms", None),
    ("latency", "lat_max_ms", "  max", "ms", None),
    ("latency", "pulses_detected", "  pulses detected", "", None),
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


def fmt(x: float) -> str:
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def cell(results: list[dict], key: str) -> tuple[float | None, str]:
    errs = [r["error"] for r in results if "error" in r]
    if errs:
        e = errs[0].replace("|", "/").replace("\n", " ")
        if len(e) > 300:
            e = e[:297] + "..."
        return None, f"error: {e} ({len(errs)}/{len(results)} rounds failed)"
    vals = [r[key] for r in results if key in r]
    if not vals:
        return None, "—"
    v = statistics.median(vals)
    return v, (str(int(v)) if all(isinstance(x, int) for x in vals) and v == int(v) else fmt(v))


def table(runs: dict, args, ours: str, official: str | None) -> str:
    d = args.duration
    off_desc = f"`{official}` (via LIVEKIT_LIB_PATH)" if official else "the wheel's bundled library"
    lines = [
        f"## Audio benchmark ({args.rounds} round{'s' * (args.rounds != 1)}; {args.tracks} tracks of 48 kHz mono; "
        f"CPU window {d:g} s; {args.pulses} latency pulses{'; quick' if args.quick else ''})",
        "",
        f"official: {off_desc}  \n"
        f"ours: `{ours}` (via LIVEKIT_LIB_PATH)  \n"
        "helpers (the other side of the publish and subscribe workloads): the official library",
        "",
        "Each cell is the median over the rounds. CPU is process user+sys per track per second of audio. "
        "ratio = ours ÷ official, so below 1 means ours costs less; within "
        f"{NOISE:.2f}–{1 / NOISE:.2f} it is marked ≈ (noise on this machine).",
        "",
        "| metric | unit | official | ours | ours ÷ official | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    shown: set[tuple[str, int]] = set()  # (workload, column) whose error was printed
    for wl, key, label, unit, better in METRICS:
        if wl not in runs:
            continue
        off, our = runs[wl]
        a, a_s = cell(off, key)
        b, b_s = cell(our, key)
        for col, text in ((0, a_s), (1, b_s)):
            if text.startswith("error"):
                if (wl, col) in shown:
                    if col == 0:
                        a_s = "error (above)"
                    else:
                        b_s = "error (above)"
                shown.add((wl, col))
        ratio = b / a if better and a is not None and b is not None and a > 0 and b > 0 else None
        r_s = "—" if ratio is None else f"{ratio:.2f}×"
        verdict = "" if ratio is None else "≈" if NOISE <= ratio <= 1 / NOISE else "better" if ratio < 1 else "worse"
        lines.append(f"| {label} | {unit} | {a_s} | {b_s} | {r_s} | {verdict} |")
    return "\n".join(lines) + "\n"


def summary(wl: str, r: dict) -> str:
    if "error" in r:
        return "error: " + r["error"]
    if wl == "pub":
        return (f"cpu {r['cpu_ms_per_track_s']:.1f} ms/track/s, rss {r['rss_per_track_mb']:.2f} MB/track, "
                f"fed {r['fed_per_track_s']:.2f} s/s, official subscriber got {r['helper_recv_s']:.1f} s/track "
                f"at {r['helper_level_dbfs']:.1f} dBFS")
    if wl == "sub":
        return (f"cpu {r['cpu_ms_per_track_s']:.1f} ms/track/s, rss {r['rss_per_track_mb']:.2f} MB/track, "
                f"received {r['recv_per_track_s']:.2f} s/s at {r['recv_level_dbfs']:.1f} dBFS")
    return (f"latency p50 {r['lat_p50_ms']:.1f} p95 {r['lat_p95_ms']:.1f} ms "
            f"(min {r['lat_min_ms']:.1f}, max {r['lat_max_ms']:.1f}; {r['pulses_detected']} pulses)")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", "--ours", dest="lib", default=DEFAULT_OURS, help="our liblivekit_ffi.so")
    ap.add_argument("--official", help="official library (default: the wheel's own, LIVEKIT_LIB_PATH unset)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 s CPU windows, 6 pulses, short warm-ups")
    ap.add_argument("--tracks", type=int, default=4)
    ap.add_argument("--duration", type=float, help="CPU window, s (default 30, quick 5)")
    ap.add_argument("--pulses", type=int, help="latency pulses (default 20, quick 6)")
    ap.add_argument("--queue-ms", type=int, default=30, help="AudioSource queue of the latency publisher")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds allowed per wait in a worker")
    ap.add_argument("--only", help="comma-separated subset of: pub,sub,latency")
    ap.add_argument("--url", help="use this running server (dev keys unless LIVEKIT_API_KEY/_SECRET are set)")
    ap.add_argument("--json", help="write every round's figures here")
    args = ap.parse_args()
    args.duration = args.duration or (5.0 if args.quick else 30.0)
    args.pulses = args.pulses or (6 if args.quick else 20)
    if not os.path.exists(args.lib):
        sys.exit(f"--lib {args.lib} does not exist (cargo build --release -p livekit-ffi)")
    only = args.only.split(",") if args.only else list(WORKLOADS)
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        sys.exit(f"--only: unknown workload(s) {bad}; choose from {list(WORKLOADS)}")

    state_dir = None
    if args.url:
        url = args.url
        key = os.environ.get("LIVEKIT_API_KEY", "devkey")
        secret = os.environ.get("LIVEKIT_API_SECRET", "secret")
    else:
        state_dir = tempfile.mkdtemp(prefix="audio-bench-server-")
        server_script("install", state_dir=state_dir, timeout=1800)
        server_script("start", "--parent", str(os.getpid()), state_dir=state_dir)
        env = parse_env(server_script("env", state_dir=state_dir))
        url, key, secret = env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]
        print(f"livekit-server at {url}", file=sys.stderr)

    warmup = 1.0 if args.quick else 3.0
    base = {
        "url": url,
        "tracks": args.tracks,
        "duration": args.duration,
        "warmup": warmup,
        "idle": 1.0,
        "pulses": args.pulses,
        "queue_ms": args.queue_ms,
        "timeout": args.timeout,
        # worker watchdog: connect + publish/subscribe waits + window + teardown
        "max_time": 6 * args.timeout + warmup + max(args.duration, MIN_STEADY_RSS) + 30
        + args.pulses * (PULSE_INTERVAL + 0.2),
    }
    runs: dict = {w: ([], []) for w in only}
    t_start = time.monotonic()
    try:
        for rnd in range(args.rounds):
            order = [0, 1] if rnd % 2 == 0 else [1, 0]  # alternate who goes first
            for which in order:
                lib = args.official if which == 0 else args.lib
                who = ("official", "ours")[which]
                for wl in only:
                    room = f"audio-bench-{wl}-{uuid.uuid4().hex[:8]}"
                    t0 = time.monotonic()
                    try:
                        res = WORKLOADS[wl](lib, args.official, dict(base), room, key, secret)
                    except Exception as e:
                        res = {"error": str(e)}
                    runs[wl][which].append(res)
                    print(f"round {rnd + 1}/{args.rounds} {who:<8} {wl:<7} ({time.monotonic() - t0:4.1f} s) "
                          f"{summary(wl, res)}", file=sys.stderr)
    finally:
        if state_dir:
            try:
                server_script("stop", state_dir=state_dir, timeout=60)
            except Exception as e:
                print(f"stopping the server: {e}", file=sys.stderr)
    print(f"audio benchmark took {time.monotonic() - t_start:.0f} s", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({w: {"official": r[0], "ours": r[1]} for w, r in runs.items()} | {"args": vars(args)},
                      f, indent=1)
    sys.stdout.write(table(runs, args, args.lib, args.official))


if __name__ == "__main__":
    main()
