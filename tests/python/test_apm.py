"""rtc.AudioProcessingModule (WebRTC APM: AEC, AGC, noise suppression, HPF).

Fixtures (48 kHz mono, ~7.9 s): test_echo_render.wav is the far end played
out; test_echo_capture.wav is the microphone: the far end delayed by 100 ms at
about -8 dB, plus white noise at about -41 dBFS.

Observed on the official library: AEC alone lowers the capture's second half
by ~18 dB (the noise floor limits it); AEC + noise suppression by ~30 dB;
noise suppression alone by <1 dB. A frame that is not a multiple of 10 ms
panics (and the process dies), so that case is skipped there.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    FIXTURES,
    describe,
    from_frame,
    level_db,
    read_wav,
    run_python,
    sine,
    skip_on_official,
    split_frames,
    to_frame,
    white_noise,
)
from livekit import rtc

RATE = 48000


@pytest.fixture(scope="module")
def echo_pair() -> tuple[np.ndarray, np.ndarray]:
    render, rate, channels = read_wav(FIXTURES / "test_echo_render.wav")
    capture, rate2, channels2 = read_wav(FIXTURES / "test_echo_capture.wav")
    assert (rate, channels, rate2, channels2) == (RATE, 1, RATE, 1)
    n = min(len(render), len(capture))
    return render[:n], capture[:n]


def run_echo(apm: rtc.AudioProcessingModule, render: np.ndarray, capture: np.ndarray) -> np.ndarray:
    """Far end first, then the microphone, 10 ms at a time; returns processed capture."""
    out = []
    for far, near in zip(split_frames(render, RATE), split_frames(capture, RATE)):
        apm.process_reverse_stream(far)
        apm.process_stream(near)  # in place
        out.append(from_frame(near))
    return np.concatenate(out)


def process(apm: rtc.AudioProcessingModule, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> np.ndarray:
    out = []
    for frame in split_frames(samples, rate, channels):
        apm.process_stream(frame)
        out.append(from_frame(frame))
    return np.concatenate(out)


def second_half_reduction_db(before: np.ndarray, after: np.ndarray) -> float:
    half = len(after) // 2
    return level_db(before[half : len(after)]) - level_db(after[half:])


# --------------------------------------------------------------------------
# Echo cancellation
# --------------------------------------------------------------------------


def test_aec_with_noise_suppression_removes_20db_of_echo(echo_pair):
    render, capture = echo_pair
    apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=True)
    out = run_echo(apm, render, capture)
    assert len(out) == len(capture) // 480 * 480
    reduction = second_half_reduction_db(capture, out)
    assert reduction >= 20, f"echo lowered by only {reduction:.1f} dB"


def test_aec_alone_removes_most_of_the_echo(echo_pair):
    """The capture's noise floor is ~13 dB under the echo, which caps AEC alone."""
    render, capture = echo_pair
    apm = rtc.AudioProcessingModule(echo_cancellation=True)
    apm.set_stream_delay_ms(100)
    reduction = second_half_reduction_db(capture, run_echo(apm, render, capture))
    assert reduction >= 15, f"echo lowered by only {reduction:.1f} dB"


def test_echo_removal_comes_from_aec(echo_pair):
    """Control: without AEC, noise suppression barely touches the echo."""
    render, capture = echo_pair
    apm = rtc.AudioProcessingModule(noise_suppression=True)
    reduction = second_half_reduction_db(capture, run_echo(apm, render, capture))
    assert reduction < 6, f"noise suppression alone lowered the echo by {reduction:.1f} dB"


def test_reverse_stream_is_not_modified(echo_pair):
    render, _ = echo_pair
    apm = rtc.AudioProcessingModule(echo_cancellation=True)
    frame = to_frame(render[RATE : RATE + 480], RATE)
    apm.process_reverse_stream(frame)
    assert np.array_equal(from_frame(frame), render[RATE : RATE + 480])


def test_disabled_apm_is_bit_exact(echo_pair):
    _, capture = echo_pair
    out = process(rtc.AudioProcessingModule(), capture[: RATE * 2])
    assert np.array_equal(out, capture[: RATE * 2])


# --------------------------------------------------------------------------
# Gain control and noise suppression
# --------------------------------------------------------------------------


def test_agc_raises_a_quiet_signal():
    speech, _, _ = read_wav(FIXTURES / "test_audio.wav")
    quiet = np.round(speech.astype(np.float64) * 10 ** (-30 / 20)).astype(np.int16)  # ~ -50 dBFS
    out = process(rtc.AudioProcessingModule(auto_gain_control=True), quiet)
    gain = -second_half_reduction_db(quiet, out)
    assert gain >= 10, f"AGC raised the level by only {gain:.1f} dB"


@pytest.mark.parametrize("rate,channels", [(16000, 1), (48000, 1), (48000, 2)])
def test_noise_suppression_lowers_white_noise(rate, channels):
    noise = white_noise(rate * 3 * channels, amplitude=0.03, seed=rate + channels)
    out = process(rtc.AudioProcessingModule(noise_suppression=True), noise, rate, channels)
    reduction = second_half_reduction_db(noise, out)
    assert reduction >= 6, f"white noise lowered by only {reduction:.1f} dB"


def test_high_pass_filter_removes_dc_and_keeps_speech_band():
    dc = np.full(RATE, 8000, np.int16)
    out = process(rtc.AudioProcessingModule(high_pass_filter=True), dc)
    assert np.abs(out[RATE // 2 :].astype(int)).max() < 400, "DC should be filtered out"
    tone = sine(1000, RATE, RATE)
    out = process(rtc.AudioProcessingModule(high_pass_filter=True), tone)
    assert level_db(out[RATE // 2 :]) == pytest.approx(level_db(tone), abs=1.0)


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
def test_accepts_common_rates(rate):
    apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=True)
    apm.process_reverse_stream(rtc.AudioFrame.create(rate, 1, rate // 100))
    apm.process_stream(rtc.AudioFrame.create(rate, 1, rate // 100))


def test_accepts_multiples_of_10ms():
    apm = rtc.AudioProcessingModule(noise_suppression=True)
    apm.process_stream(rtc.AudioFrame.create(RATE, 1, 960))


@pytest.mark.parametrize("delay", [0, 100, 500])
def test_set_stream_delay_in_range(delay):
    rtc.AudioProcessingModule(echo_cancellation=True).set_stream_delay_ms(delay)


@pytest.mark.parametrize("delay", [-5, 5000])
def test_set_stream_delay_out_of_range_raises(delay):
    with pytest.raises(RuntimeError):
        rtc.AudioProcessingModule(echo_cancellation=True).set_stream_delay_ms(delay)


@skip_on_official("a frame that is not a multiple of 10 ms panics and kills the process")
@pytest.mark.parametrize("method", ["process_stream", "process_reverse_stream"])
def test_non_10ms_frame_raises_isolated(method):
    proc = run_python(
        f"""
        from livekit import rtc
        apm = rtc.AudioProcessingModule(echo_cancellation=True)
        try:
            apm.{method}(rtc.AudioFrame.create(48000, 1, 100))
        except RuntimeError as e:
            print("raised:", e)
        apm.{method}(rtc.AudioFrame.create(48000, 1, 480))  # still usable
        print("ok")
        """
    )
    assert proc.returncode == 0, describe(proc)
    assert "raised:" in proc.stdout and "ok" in proc.stdout, describe(proc)
