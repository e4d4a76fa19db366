"""rtc.PlatformAudio (WebRTC's audio device module) on a machine without sound devices.

The official library cannot create its platform ADM here and raises
PlatformAudioError("Failed to initialize PlatformAudio: Failed to initialize
platform audio"), so these tests are expected to fail on it. Ours must come up
with zero devices and still hand out a usable (silent) audio source.
"""

from __future__ import annotations

import asyncio

import pytest

from conftest import xfail_on_official
from livekit import rtc

NO_ADM = "cannot initialise the platform ADM without sound devices (PlatformAudioError)"


@xfail_on_official(NO_ADM, raises=rtc.PlatformAudioError)
def test_platform_audio_with_no_devices():
    platform = rtc.PlatformAudio()
    try:
        assert platform.recording_devices() == []
        assert platform.playout_devices() == []
    finally:
        platform.close()
    platform.close()  # closing twice is a no-op


@xfail_on_official(NO_ADM, raises=rtc.PlatformAudioError)
def test_platform_audio_source_makes_a_track():
    async def main():
        platform = rtc.PlatformAudio()
        source = platform.create_audio_source(
            rtc.PlatformAudioOptions(echo_cancellation=True, noise_suppression=True, auto_gain_control=True)
        )
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        assert track.kind == rtc.TrackKind.KIND_AUDIO
        assert track.name == "microphone"
        source.close()
        platform.close()

    asyncio.run(asyncio.wait_for(main(), 20))


@xfail_on_official(NO_ADM, raises=rtc.PlatformAudioError)
def test_selecting_an_unknown_device_raises():
    platform = rtc.PlatformAudio()
    try:
        with pytest.raises(rtc.PlatformAudioError):
            platform.set_recording_device("no-such-device")
        with pytest.raises(rtc.PlatformAudioError):
            platform.set_playout_device("no-such-device")
    finally:
        platform.close()
