"""rtc.AudioFrame and the FFI's remix-and-resample request.

AudioFrame itself is pure Python; the remix tests go through the library
(FfiRequest.remix_and_resample, see conftest.Remixer) and check the audio.
"""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from conftest import (
    Remixer,
    channel,
    estimate_frequency,
    from_frame,
    level_db,
    sine,
    split_frames,
    to_frame,
)
from livekit import rtc

# --------------------------------------------------------------------------
# AudioFrame
# --------------------------------------------------------------------------


def test_create_is_zeroed_with_right_shape():
    frame = rtc.AudioFrame.create(48000, 2, 480)
    assert (frame.sample_rate, frame.num_channels, frame.samples_per_channel) == (48000, 2, 480)
    assert frame.duration == pytest.approx(0.01)
    assert len(frame.data) == 960
    assert frame.data.format == "h"
    assert not any(frame.data)


def test_data_view_is_live_and_writable():
    frame = rtc.AudioFrame.create(16000, 1, 160)
    view = frame.data
    view[0] = 1234
    view[159] = -32768
    again = np.frombuffer(frame.data, np.int16)
    assert again[0] == 1234 and again[159] == -32768


def test_frame_from_bytes_keeps_samples():
    samples = sine(440, 16000, 160)
    frame = rtc.AudioFrame(samples.tobytes(), 16000, 1, 160)
    assert np.array_equal(from_frame(frame), samples)


def test_frame_rejects_short_data():
    with pytest.raises(ValueError):
        rtc.AudioFrame(bytes(100), 48000, 1, 480)


def test_to_wav_bytes_round_trip():
    samples = sine([1000, 440], 24000, 240, channels=2)
    frame = to_frame(samples, 24000, 2)
    with wave.open(io.BytesIO(frame.to_wav_bytes())) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 24000, 2)
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert np.array_equal(data, samples)


# --------------------------------------------------------------------------
# Remix and resample
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "in_rate,out_rate",
    [(48000, 16000), (16000, 48000), (44100, 48000), (48000, 44100), (32000, 24000)],
    ids=str,
)
@pytest.mark.parametrize("freq", [1000.0, 440.0])
def test_remix_and_resample_keeps_sine(in_rate, out_rate, freq):
    """A stream of 10 ms frames through one resampler handle keeps the tone."""
    remix = Remixer()
    samples = sine(freq, in_rate, in_rate // 2)
    chunks = []
    for frame in split_frames(samples, in_rate):
        out = remix(frame, out_rate, 1)
        assert (out.sample_rate, out.num_channels) == (out_rate, 1)
        assert out.samples_per_channel == out_rate // 100
        chunks.append(from_frame(out))
    output = np.concatenate(chunks)
    assert len(output) == out_rate // 2
    steady = output[out_rate // 20 :]  # skip 50 ms of filter start-up
    assert estimate_frequency(steady, out_rate) == pytest.approx(freq, abs=5)
    assert level_db(steady) == pytest.approx(level_db(samples), abs=1.0)


def test_remix_mono_to_stereo_duplicates():
    remix = Remixer()
    samples = sine(1000, 48000, 480)
    out = from_frame(remix(to_frame(samples, 48000, 1), 48000, 2))
    assert len(out) == 960
    assert np.array_equal(channel(out, 0, 2), samples)
    assert np.array_equal(channel(out, 1, 2), samples)


def test_remix_stereo_to_mono_averages():
    remix = Remixer()
    left = np.full(480, 1000, np.int16)
    right = np.full(480, 3000, np.int16)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    out = from_frame(remix(to_frame(stereo, 48000, 2), 48000, 1))
    assert len(out) == 480
    assert np.all(np.abs(out.astype(np.int32) - 2000) <= 1)


def test_remix_same_format_is_identity():
    remix = Remixer()
    samples = sine([1000, 440], 48000, 480, channels=2)
    out = from_frame(remix(to_frame(samples, 48000, 2), 48000, 2))
    assert np.array_equal(out, samples)


def test_remix_stereo_resample_keeps_both_channels():
    remix = Remixer()
    samples = sine([1000, 440], 48000, 24000, channels=2)
    chunks = [from_frame(remix(f, 16000, 2)) for f in split_frames(samples, 48000, 2)]
    output = np.concatenate(chunks)
    for ch, freq in enumerate([1000, 440]):
        steady = channel(output, ch, 2)[800:]
        assert estimate_frequency(steady, 16000) == pytest.approx(freq, abs=5)
