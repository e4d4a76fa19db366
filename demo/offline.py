"""What the official LiveKit Python SDK can do on this library without a server.

Run through scripts/demo.sh, which builds the library and points the SDK at it
with LIVEKIT_LIB_PATH. Every step prints what it measured.
"""

import asyncio
import os
import wave
from pathlib import Path

import numpy as np
from livekit import rtc

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def level_db(samples: np.ndarray) -> float:
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2)) or 1e-9
    return 20 * np.log10(rms / 32768)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data.reshape(-1, w.getnchannels())[:, 0].copy(), w.getframerate()


def resample_demo() -> None:
    resampler = rtc.AudioResampler(48000, 16000, num_channels=1)
    src = tone(440, 48000, 1.0)
    out = []
    for i in range(0, len(src), 480):
        chunk = src[i : i + 480]
        for frame in resampler.push(bytearray(chunk.tobytes())):
            out.append(np.frombuffer(frame.data, dtype=np.int16))
    for frame in resampler.flush():
        out.append(np.frombuffer(frame.data, dtype=np.int16))
    y = np.concatenate(out)
    print(f"resampler: 1 s of 440 Hz at 48 kHz -> {len(y)} samples at 16 kHz, "
          f"{dominant_hz(y, 16000):.1f} Hz, {level_db(y) - level_db(src):+.2f} dB")


def apm_demo() -> None:
    render, rate = read_wav(FIXTURES / "test_echo_render.wav")
    capture, _ = read_wav(FIXTURES / "test_echo_capture.wav")
    n = min(len(render), len(capture)) // (rate // 100) * (rate // 100)
    apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=True,
                                    high_pass_filter=True, auto_gain_control=False)
    step = rate // 100
    out = np.empty(n, dtype=np.int16)
    for i in range(0, n, step):
        far = rtc.AudioFrame(bytearray(render[i : i + step].tobytes()), rate, 1, step)
        near = rtc.AudioFrame(bytearray(capture[i : i + step].tobytes()), rate, 1, step)
        apm.process_reverse_stream(far)
        apm.process_stream(near)
        out[i : i + step] = np.frombuffer(near.data, dtype=np.int16)
    half = n // 2
    print(f"echo cancellation: capture {level_db(capture[half:n]):.1f} dBFS -> "
          f"{level_db(out[half:]):.1f} dBFS over the second half "
          f"({level_db(capture[half:n]) - level_db(out[half:]):.1f} dB less echo)")


def video_demo() -> None:
    w, h = 1280, 720
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)
    rgba[..., 3] = 255
    frame = rtc.VideoFrame(w, h, rtc.VideoBufferType.RGBA, rgba.tobytes())
    i420 = frame.convert(rtc.VideoBufferType.I420)
    back = i420.convert(rtc.VideoBufferType.RGBA)
    err = np.abs(np.frombuffer(back.data, dtype=np.uint8).astype(int) - rgba.reshape(-1)).mean()
    print(f"video: 1280x720 RGBA -> I420 ({len(i420.data)} bytes) -> RGBA, "
          f"mean error {err:.2f} levels")


async def local_stream_demo() -> None:
    source = rtc.AudioSource(48000, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    stream = rtc.AudioStream(track, sample_rate=16000, num_channels=1)
    received = []

    async def listen() -> None:
        async for event in stream:
            received.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())

    listener = asyncio.create_task(listen())
    src = tone(1000, 48000, 0.5)
    for i in range(0, len(src), 480):
        await source.capture_frame(rtc.AudioFrame(bytearray(src[i : i + 480].tobytes()), 48000, 1, 480))
    await source.wait_for_playout()
    await asyncio.sleep(0.1)
    await stream.aclose()
    await listener
    y = np.concatenate(received)
    print(f"local stream: captured 0.5 s at 48 kHz, received {len(received)} frames at 16 kHz, "
          f"{dominant_hz(y[:8000], 16000):.0f} Hz")


def main() -> None:
    print(f"library: {os.environ.get('LIVEKIT_LIB_PATH', 'the official one bundled in the wheel')}")
    resample_demo()
    apm_demo()
    video_demo()
    asyncio.run(local_stream_demo())


if __name__ == "__main__":
    main()
