"""Signal checks for received audio: tone frequency, level, dropouts.

Plain numpy, no ``livekit`` import, so the room audio tests, the interop
child (``audio_participant.py``) and a benchmark can all share it.

Samples are int16 (or anything numpy can turn into float64), mono unless a
function takes ``channels``; levels are RMS in dB relative to int16 full
scale (dBFS): a full-scale sine is -3 dBFS, an amplitude-0.3 sine -13.5 dBFS.

A *dropout* is a ``window_ms`` (10 ms) window whose level is below
``SILENCE_DBFS`` after the audio has started (``onset``) and a settling time
(``skip_s``, 500 ms) has passed: the receiver played silence while the sender
was sending.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

#: Below this a 10 ms window counts as silence (a muted track, a gap).
SILENCE_DBFS = -50.0
#: Window length for the per-window frequency estimate.
FREQUENCY_WINDOW_S = 0.2


def sine_level_dbfs(amplitude: float) -> float:
    """RMS level of a sine of ``amplitude`` (relative to full scale), in dBFS."""
    return 20 * math.log10(amplitude * 32767.0 / math.sqrt(2) / 32768.0)


class ToneGenerator:
    """A phase-continuous int16 sine, handed out in chunks."""

    def __init__(self, freq: float, rate: int, *, amplitude: float = 0.3, channels: int = 1):
        self.freq = freq
        self.rate = rate
        self.amplitude = amplitude
        self.channels = channels
        self._n = 0

    def next(self, samples_per_channel: int) -> np.ndarray:
        """The next ``samples_per_channel`` samples (interleaved)."""
        t = (self._n + np.arange(samples_per_channel)) / self.rate
        self._n += samples_per_channel
        x = np.round(np.sin(2 * np.pi * self.freq * t) * self.amplitude * 32767.0).astype(np.int16)
        return np.repeat(x, self.channels) if self.channels > 1 else x


def deinterleave(samples: np.ndarray, channels: int) -> list[np.ndarray]:
    x = np.asarray(samples)
    x = x[: len(x) - len(x) % channels]
    return [x.reshape(-1, channels)[:, c] for c in range(channels)]


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dBFS (-180 for nothing or digital silence)."""
    x = np.asarray(samples, dtype=np.float64)
    rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
    return 20 * math.log10(max(rms, 1e-9) / 32768.0)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Strongest frequency in Hz: Hann window, FFT, parabolic interpolation
    of the log magnitude around the peak bin (well under 1 Hz of error for a
    clean tone over 0.2 s)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size < 4:
        return 0.0
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return float((k + offset) * rate / len(x))


def window_levels(samples: np.ndarray, rate: int, window_ms: int = 10) -> np.ndarray:
    """dBFS of each consecutive ``window_ms`` window (a short tail is dropped)."""
    n = rate * window_ms // 1000
    x = np.asarray(samples, dtype=np.float64)
    count = len(x) // n
    if count == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(x[: count * n].reshape(count, n) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9) / 32768.0)


def window_frequencies(samples: np.ndarray, rate: int, window_s: float = FREQUENCY_WINDOW_S) -> list[float]:
    """Dominant frequency of each consecutive ``window_s`` window."""
    n = int(rate * window_s)
    x = np.asarray(samples)
    return [dominant_frequency(x[i : i + n], rate) for i in range(0, len(x) - n + 1, n)]


def onset(samples: np.ndarray, rate: int, *, threshold: float = SILENCE_DBFS, window_ms: int = 10) -> Optional[int]:
    """Index of the first sample of the first window above ``threshold``, or None."""
    levels = window_levels(samples, rate, window_ms)
    loud = np.nonzero(levels >= threshold)[0]
    return int(loud[0]) * (rate * window_ms // 1000) if loud.size else None


def dropouts(
    samples: np.ndarray,
    rate: int,
    *,
    skip_s: float = 0.5,
    threshold: float = SILENCE_DBFS,
    window_ms: int = 10,
) -> list[float]:
    """Times (s from the start of ``samples``) of silent windows, counted from
    ``skip_s`` after the onset. All of it is silence if there is no onset."""
    start = onset(samples, rate, threshold=threshold, window_ms=window_ms)
    if start is None:
        return [0.0]
    start += int(skip_s * rate)
    levels = window_levels(np.asarray(samples)[start:], rate, window_ms)
    return [round(start / rate + i * window_ms / 1000, 3) for i in np.nonzero(levels < threshold)[0]]


def analyze(samples: np.ndarray, rate: int, channels: int = 1, *, skip_s: float = 0.5) -> dict:
    """A JSON-friendly measurement of received tone, per channel.

    ``samples`` is interleaved. Everything is measured from ``skip_s`` after
    the onset (the first non-silent 10 ms) of each channel: ``frequency``
    (whole span), ``frequencies`` (min and max over 0.2 s windows),
    ``level_dbfs``, ``dropouts`` (their count and the first few times),
    ``onset_s`` and ``tone_s`` (seconds analysed).
    """
    result: dict = {"rate": rate, "channels": channels, "total_s": len(samples) / channels / rate, "per_channel": []}
    for x in deinterleave(samples, channels):
        start = onset(x, rate)
        m: dict = {"onset_s": None if start is None else start / rate}
        if start is not None:
            tone = x[start + int(skip_s * rate) :]
            freqs = window_frequencies(tone, rate)
            gaps = dropouts(x, rate, skip_s=skip_s)
            m.update(
                tone_s=len(tone) / rate,
                frequency=dominant_frequency(tone, rate) if len(tone) else 0.0,
                frequencies=[min(freqs), max(freqs)] if freqs else [],
                level_dbfs=level_dbfs(tone),
                dropouts=len(gaps),
                first_dropouts=gaps[:5],
            )
        result["per_channel"].append(m)
    return result


def tone_problems(
    measurement: dict,
    *,
    freq: float,
    level: float,
    freq_tolerance: float = 5.0,
    level_tolerance_db: float = 3.0,
    min_tone_s: float = 1.0,
) -> list[str]:
    """What is wrong with an ``analyze`` result, given the tone that was sent
    (empty when it is the sent tone, at the sent level, without dropouts)."""
    problems = []
    for c, m in enumerate(measurement["per_channel"]):
        if m["onset_s"] is None:
            problems.append(f"channel {c}: only silence in {measurement['total_s']:.2f} s")
            continue
        if m["tone_s"] < min_tone_s:
            problems.append(f"channel {c}: only {m['tone_s']:.2f} s of audio after the onset and settling")
            continue
        lo, hi = m["frequencies"]
        # The whole span must be within the tolerance. A single 0.2 s window
        # gets twice that: when a jitter buffer drops or conceals 10 ms
        # (NetEq time-stretches, ours cuts a surplus or conceals a late
        # packet), the phase step moves that window's peak a few Hz.
        window_tolerance = 2 * freq_tolerance
        if (
            abs(m["frequency"] - freq) > freq_tolerance
            or abs(lo - freq) > window_tolerance
            or abs(hi - freq) > window_tolerance
        ):
            problems.append(f"channel {c}: frequency {m['frequency']:.1f} Hz (windows {lo:.1f}..{hi:.1f}), sent {freq} Hz")
        if abs(m["level_dbfs"] - level) > level_tolerance_db:
            problems.append(f"channel {c}: level {m['level_dbfs']:.1f} dBFS, sent {level:.1f} dBFS")
        if m["dropouts"]:
            problems.append(f"channel {c}: {m['dropouts']} silent 10 ms windows, first at {m['first_dropouts']} s")
    return problems
