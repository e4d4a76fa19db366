"""Shared helpers for the Python SDK tests.

Every test here drives the unmodified `livekit` Python SDK through its public
API. Which native library the SDK loads is chosen by the SDK itself:

* ``LIVEKIT_LIB_PATH`` set (and not empty): our library, e.g.
  ``target/release/liblivekit_ffi.so``;
* otherwise: the official library bundled in the wheel.

The official library has a few known failures: it crashes the process on some
inputs (its Rust panics abort). Tests for those cases are skipped or marked
expected-to-fail only when ``ON_OFFICIAL`` is true; against our library they
must pass, and they run in a child interpreter there (``run_python``).

Helpers are plain functions so tests can import them (``from conftest import
sine``); pytest puts this directory on ``sys.path`` because it has no
``__init__.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from livekit import rtc

# --------------------------------------------------------------------------
# Which library are we testing?
# --------------------------------------------------------------------------

#: True when the SDK loads the official library from its wheel. The SDK
#: ignores an empty or blank LIVEKIT_LIB_PATH, so we do too.
ON_OFFICIAL = not os.environ.get("LIVEKIT_LIB_PATH", "").strip()

LIBRARY_LABEL = "official wheel library" if ON_OFFICIAL else os.environ["LIVEKIT_LIB_PATH"]

#: The official library bundled in the wheel (what the SDK loads when
#: LIVEKIT_LIB_PATH is unset); the interop tests run it in a child process.
OFFICIAL_LIBRARY = Path(rtc.__file__).resolve().parent / "resources" / "liblivekit_ffi.so"

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def skip_on_official(reason: str) -> pytest.MarkDecorator:
    """Skip a test that cannot run on the official library (it would kill the run)."""
    return pytest.mark.skipif(ON_OFFICIAL, reason=f"official library: {reason}")


def xfail_on_official(reason: str, raises: type[BaseException] | None = None) -> pytest.MarkDecorator:
    """A test the official library is known to fail (with ``raises``, if given); ours must pass it."""
    return pytest.mark.xfail(
        ON_OFFICIAL, reason=f"official library: {reason}", raises=raises, strict=True
    )


@pytest.fixture
def on_official() -> bool:
    return ON_OFFICIAL


def pytest_report_header(config: pytest.Config) -> str:
    return f"livekit FFI library under test: {LIBRARY_LABEL}"


class FfiPanicked(Exception):
    """Raised in the main thread when the process receives SIGTERM."""


_sigterm_count = 0


def _on_sigterm(signum, frame):  # pragma: no cover - only on a library panic
    # On an FfiEvent.panic the SDK prints "FFI Panic: ..." and sends SIGTERM
    # to its own process. Turn that into a failure of the running test rather
    # than the silent death of the whole run. A repeated SIGTERM still kills.
    global _sigterm_count
    _sigterm_count += 1
    if _sigterm_count > 3:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    raise FfiPanicked("SIGTERM: the SDK sends this to itself after an FFI panic (see 'FFI Panic:' on stderr)")


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    config.addinivalue_line(
        "markers", "room: needs a LiveKit server (started once per run by the livekit_server fixture)"
    )
    # The dev API secret ("secret") is shorter than PyJWT likes.
    config.addinivalue_line("filterwarnings", "ignore:The HMAC key is .* bytes long")


# --------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------


def sine(
    freq: float | list[float],
    rate: int,
    num_samples: int,
    *,
    channels: int = 1,
    amplitude: float = 0.5,
) -> np.ndarray:
    """Interleaved int16 sine wave.

    ``freq`` may be one frequency for every channel or one per channel.
    ``amplitude`` is relative to full scale.
    """
    freqs = list(freq) if isinstance(freq, (list, tuple)) else [freq] * channels
    assert len(freqs) == channels
    t = np.arange(num_samples) / rate
    cols = [np.sin(2 * np.pi * f * t) for f in freqs]
    data = np.stack(cols, axis=1) * amplitude * 32767.0
    return np.round(data).astype(np.int16).reshape(-1)


def white_noise(num_samples: int, *, amplitude: float, seed: int = 0) -> np.ndarray:
    """Gaussian white noise, RMS = ``amplitude`` of full scale, int16."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(num_samples) * amplitude * 32767.0
    return np.clip(np.round(data), -32768, 32767).astype(np.int16)


def channel(samples: np.ndarray, index: int, channels: int) -> np.ndarray:
    """One channel of an interleaved buffer."""
    return np.asarray(samples).reshape(-1, channels)[:, index]


def estimate_frequency(samples: np.ndarray, rate: int) -> float:
    """Dominant frequency of a (mono) signal, in Hz.

    Hann window plus parabolic interpolation on the log magnitude of the
    strongest FFT bin: well under 1 Hz of error for a clean tone of 0.25 s or
    more.
    """
    x = np.asarray(samples, dtype=np.float64)
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return (k + offset) * rate / len(x)


def level_db(samples: np.ndarray) -> float:
    """RMS level in dB relative to int16 full scale (dBFS)."""
    x = np.asarray(samples, dtype=np.float64)
    rms = np.sqrt(np.mean(x * x)) if x.size else 0.0
    return 20 * np.log10(max(rms, 1e-9) / 32768.0)


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(interleaved int16 samples, sample rate, channels) of a 16-bit WAV file."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, f"{path}: expected 16-bit PCM"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data.copy(), w.getframerate(), w.getnchannels()


# --------------------------------------------------------------------------
# AudioFrame <-> numpy
# --------------------------------------------------------------------------


def to_frame(samples: np.ndarray, rate: int, channels: int = 1) -> rtc.AudioFrame:
    data = np.ascontiguousarray(samples, dtype=np.int16)
    return rtc.AudioFrame(data.tobytes(), rate, channels, len(data) // channels)


def from_frame(frame: rtc.AudioFrame) -> np.ndarray:
    """The frame's interleaved samples, copied."""
    return np.frombuffer(frame.data, dtype=np.int16).copy()


def split_frames(samples: np.ndarray, rate: int, channels: int = 1, ms: int = 10):
    """Yield consecutive ``ms``-millisecond AudioFrames (a short tail is dropped)."""
    per_frame = rate * ms // 1000
    step = per_frame * channels
    for start in range(0, len(samples) - step + 1, step):
        yield to_frame(samples[start : start + step], rate, channels)


# --------------------------------------------------------------------------
# RemixAndResample
# --------------------------------------------------------------------------


class Remixer:
    """WebRTC-style remix-and-resample (FfiRequest.remix_and_resample).

    The 1.2.0 SDK has no public wrapper for this request (there is no
    ``AudioFrame.remix_and_resample``), so this speaks it with the SDK's own
    FfiClient and generated messages: NewAudioResampler once, then one
    RemixAndResample per frame, which returns an owned frame buffer.
    """

    def __init__(self) -> None:
        from livekit.rtc._ffi_client import FfiClient, FfiHandle
        from livekit.rtc._proto import ffi_pb2

        self._client = FfiClient.instance
        self._pb = ffi_pb2
        req = ffi_pb2.FfiRequest()
        req.new_audio_resampler.SetInParent()
        resp = self._client.request(req)
        self.handle = FfiHandle(resp.new_audio_resampler.resampler.handle.id)

    def __call__(self, frame: rtc.AudioFrame, sample_rate: int, num_channels: int) -> rtc.AudioFrame:
        req = self._pb.FfiRequest()
        req.remix_and_resample.resampler_handle = self.handle.handle
        req.remix_and_resample.buffer.CopyFrom(frame._proto_info())
        req.remix_and_resample.sample_rate = sample_rate
        req.remix_and_resample.num_channels = num_channels
        resp = self._client.request(req)
        return rtc.AudioFrame._from_owned_info(resp.remix_and_resample.buffer)


# --------------------------------------------------------------------------
# Subprocesses (for cases that may kill the interpreter)
# --------------------------------------------------------------------------


def run_python(code: str, *, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run a Python snippet in a fresh interpreter with the same environment.

    Used for whole-process behaviour (exit, atexit dispose) and for inputs that
    crash the official library. A crash there, or an FFI panic (which the SDK
    answers with SIGTERM to itself), would otherwise take the whole run down.
    The snippet can ``import conftest`` helpers.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TESTS_DIR), env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(TESTS_DIR),
    )


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


# --------------------------------------------------------------------------
# LiveKit server (room tests)
# --------------------------------------------------------------------------

# The session-scoped ``livekit_server`` fixture: one local livekit-server for
# the run, started on first use (see livekit_server.py).
from livekit_server import livekit_server  # noqa: E402,F401


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the room tests last.

    Once a room has been connected in a process, the official library's
    video sources behave differently (a VideoStream on a local track then
    gets black frames), which fails test_video_source.py if it runs later.
    Select or deselect the room tests with ``-m room`` / ``-m "not room"``.
    """
    items.sort(key=lambda item: item.get_closest_marker("room") is not None)
