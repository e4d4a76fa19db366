"""rtc.AudioResampler (the soxr-based streaming resampler).

A one-second tone is pushed in 10 ms frames, then the resampler is flushed.
The concatenated output must have the right length, and away from the edges
it must keep the tone's frequency and level.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    channel,
    estimate_frequency,
    from_frame,
    level_db,
    sine,
    split_frames,
)
from livekit import rtc

QUALITIES = list(rtc.AudioResamplerQuality)
RATE_PAIRS = [(48000, 16000), (16000, 48000), (44100, 48000)]
AMPLITUDE = 0.5


def _resample_stream(
    resampler: rtc.AudioResampler, samples: np.ndarray, in_rate: int, out_rate: int, channels: int
) -> tuple[np.ndarray, int]:
    """Push ``samples`` in 10 ms frames, flush; return (output, frames returned by push)."""
    chunks = []
    pushed_frames = 0
    for frame in split_frames(samples, in_rate, channels):
        for out in resampler.push(frame):
            assert out.sample_rate == out_rate
            assert out.num_channels == channels
            assert len(out.data) == out.samples_per_channel * channels
            chunks.append(from_frame(out))
            pushed_frames += 1
    for out in resampler.flush():
        assert out.sample_rate == out_rate
        assert out.num_channels == channels
        chunks.append(from_frame(out))
    output = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return output, pushed_frames


def _check_tone(output: np.ndarray, out_rate: int, channels: int, freqs: list[float]) -> None:
    per_channel = len(output) // channels
    # Skip the resampler's start-up latency and the flushed tail.
    lo, hi = per_channel // 10, per_channel * 9 // 10
    for ch, freq in enumerate(freqs):
        x = channel(output, ch, channels)[lo:hi]
        got = estimate_frequency(x, out_rate)
        assert got == pytest.approx(freq, abs=5), f"channel {ch}: {got:.1f} Hz, want {freq} Hz"
        expected_db = 20 * np.log10(AMPLITUDE * 32767 / np.sqrt(2) / 32768)
        assert level_db(x) == pytest.approx(expected_db, abs=1.0), f"channel {ch} level"


@pytest.mark.parametrize("quality", QUALITIES, ids=lambda q: q.value)
@pytest.mark.parametrize("in_rate,out_rate", RATE_PAIRS, ids=lambda r: str(r))
@pytest.mark.parametrize(
    "freqs", [[1000.0], [440.0], [1000.0, 440.0]], ids=["mono-1k", "mono-440", "stereo-1k-440"]
)
def test_resampler_keeps_tone_and_length(quality, in_rate, out_rate, freqs):
    channels = len(freqs)
    samples = sine(freqs, in_rate, in_rate, channels=channels, amplitude=AMPLITUDE)
    resampler = rtc.AudioResampler(in_rate, out_rate, num_channels=channels, quality=quality)

    output, pushed = _resample_stream(resampler, samples, in_rate, out_rate, channels)

    assert pushed > 0, "push() never returned any output"
    one_frame = out_rate // 100
    assert abs(len(output) // channels - out_rate) <= one_frame, (
        f"{len(output) // channels} samples per channel out of 1 s, want {out_rate} +-{one_frame}"
    )
    _check_tone(output, out_rate, channels, freqs)


@pytest.mark.parametrize("quality", QUALITIES, ids=lambda q: q.value)
def test_resampler_is_reusable_after_flush(quality):
    """flush() drains and resets: a second stream through the same resampler is complete too."""
    resampler = rtc.AudioResampler(48000, 16000, quality=quality)
    samples = sine(1000, 48000, 24000)
    for _ in range(2):
        output, _ = _resample_stream(resampler, samples, 48000, 16000, 1)
        assert abs(len(output) - 8000) <= 160
        _check_tone(output, 16000, 1, [1000.0])


def test_resampler_accepts_raw_bytes():
    """push() also takes a bytearray of interleaved int16 samples."""
    resampler = rtc.AudioResampler(48000, 24000, quality=rtc.AudioResamplerQuality.QUICK)
    samples = sine(1000, 48000, 4800)
    total = 0
    for start in range(0, len(samples), 480):
        for out in resampler.push(bytearray(samples[start : start + 480].tobytes())):
            total += out.samples_per_channel
    total += sum(out.samples_per_channel for out in resampler.flush())
    assert abs(total - 2400) <= 240


def test_resampler_passes_silence_through_as_silence():
    resampler = rtc.AudioResampler(44100, 48000, num_channels=2)
    output, _ = _resample_stream(resampler, np.zeros(44100 * 2, np.int16), 44100, 48000, 2)
    assert abs(len(output) // 2 - 48000) <= 480
    assert np.abs(output.astype(np.int32)).max() <= 1


def test_empty_push_returns_nothing():
    resampler = rtc.AudioResampler(48000, 16000)
    assert resampler.push(bytearray()) == []
