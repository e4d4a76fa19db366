//! Safe, allocation-free wrappers around libopus for one LiveKit audio
//! stream: always 48 kHz (Opus's native rate, and the RTP clock of Opus),
//! one or two channels.
//!
//! Every length that reaches libopus is checked here first, so nothing a
//! remote peer sends can make the bindings panic: bad packets come back as
//! [`CodecError`].

use ::opus::{Application, Bitrate, Channels, Decoder, Encoder};

use super::error::CodecError;

/// The only sample rate used: Opus's native rate and its RTP clock rate.
pub const SAMPLE_RATE: u32 = 48_000;

/// Longest Opus packet, in samples per channel at 48 kHz (120 ms): a decode
/// buffer of this size never runs short.
pub const MAX_FRAME_SAMPLES: usize = 5_760;

/// Samples per channel in 2.5 ms, the granularity of every Opus frame size
/// and of concealment requests.
pub const FRAME_GRANULE: usize = 120;

/// Output buffer size for one encoded frame. At the bitrates of speech a
/// 20 ms packet is a few hundred bytes; this keeps a whole packet inside one
/// Ethernet MTU even at the highest stereo bitrate.
pub const MAX_PACKET_BYTES: usize = 1_500;

/// Packets larger than this are refused unparsed: no legal Opus packet comes
/// near it, and libopus takes lengths as `i32`.
const MAX_PAYLOAD_BYTES: usize = 1 << 16;

/// Packet loss the encoder plans its in-band FEC for, as libwebrtc does when
/// it has no receiver reports yet: enough for LBRR to be sent at speech
/// bitrates without costing much.
pub const EXPECTED_LOSS_PERCENT: u8 = 10;

/// Encoder complexity: libwebrtc's default, 9 on desktop and 5 on mobile
/// where CPU and battery are scarcer.
pub const COMPLEXITY: i32 = if cfg!(any(target_os = "android", target_os = "ios")) {
    5
} else {
    9
};

fn channels_of(channels: u32) -> Result<Channels, CodecError> {
    match channels {
        1 => Ok(Channels::Mono),
        2 => Ok(Channels::Stereo),
        other => Err(CodecError::InvalidChannels(other)),
    }
}

fn bitrate_of(bitrate_bps: u32) -> Result<Bitrate, CodecError> {
    match i32::try_from(bitrate_bps) {
        Ok(bits) if bits > 0 => Ok(Bitrate::Bits(bits)),
        _ => Err(CodecError::InvalidBitrate(bitrate_bps)),
    }
}

/// Opus encoder set up for realtime voice: VOIP application, in-band FEC
/// planned for [`EXPECTED_LOSS_PERCENT`] loss, [`COMPLEXITY`], optional DTX.
pub struct OpusEncoder {
    inner: Encoder,
    channels: u32,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("channels", &self.channels)
            .finish()
    }
}

impl OpusEncoder {
    /// An encoder for `channels` (1 or 2) at `bitrate_bps`; with `dtx` the
    /// encoder emits tiny "nothing new" packets (at most 2 bytes) during
    /// silence, which the caller should not send.
    pub fn new(channels: u32, bitrate_bps: u32, dtx: bool) -> Result<Self, CodecError> {
        let mut inner = Encoder::new(SAMPLE_RATE, channels_of(channels)?, Application::Voip)?;
        inner.set_bitrate(bitrate_of(bitrate_bps)?)?;
        inner.set_complexity(COMPLEXITY)?;
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(i32::from(EXPECTED_LOSS_PERCENT))?;
        inner.set_dtx(dtx)?;
        Ok(Self { inner, channels })
    }

    /// Channels this encoder takes and puts on the wire.
    pub fn channels(&self) -> u32 {
        self.channels
    }

    /// Encodes one frame of interleaved PCM (2.5, 5, 10, 20, 40 or 60 ms)
    /// into `out`; returns the packet length in bytes.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let channels = self.channels as usize;
        let frame = pcm.len() / channels;
        let valid = [120, 240, 480, 960, 1920, 2880];
        if !pcm.len().is_multiple_of(channels) || !valid.contains(&frame) {
            return Err(CodecError::InvalidFrameSize(frame));
        }
        Ok(self.inner.encode(pcm, out)?)
    }

    /// Changes the target bitrate, e.g. on a bandwidth estimate.
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), CodecError> {
        Ok(self.inner.set_bitrate(bitrate_of(bitrate_bps)?)?)
    }

    /// Tells the encoder how much loss receivers report, so it spends the
    /// right share of the bitrate on FEC.
    pub fn set_packet_loss_percent(&mut self, percent: u8) -> Result<(), CodecError> {
        Ok(self
            .inner
            .set_packet_loss_perc(i32::from(percent.min(100)))?)
    }

    /// Forgets all history, so the next frame starts like a fresh stream
    /// (settings are kept).
    pub fn reset(&mut self) -> Result<(), CodecError> {
        Ok(self.inner.reset_state()?)
    }
}

/// Opus decoder producing 48 kHz interleaved PCM with a fixed channel count
/// (libopus up- or down-mixes packets of the other count).
pub struct OpusDecoder {
    inner: Decoder,
    channels: u32,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("channels", &self.channels)
            .finish()
    }
}

/// Duration of an Opus packet in samples per channel at 48 kHz, read from
/// its TOC byte and frame count without decoding.
pub fn packet_samples(payload: &[u8]) -> Result<usize, CodecError> {
    check_payload(payload)?;
    let samples = ::opus::packet::get_nb_samples(payload, SAMPLE_RATE)?;
    if samples == 0 || samples > MAX_FRAME_SAMPLES {
        return Err(CodecError::InvalidPacket(payload.len()));
    }
    Ok(samples)
}

fn check_payload(payload: &[u8]) -> Result<(), CodecError> {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
        return Err(CodecError::InvalidPacket(payload.len()));
    }
    Ok(())
}

impl OpusDecoder {
    /// A decoder producing `channels` (1 or 2) at 48 kHz.
    pub fn new(channels: u32) -> Result<Self, CodecError> {
        let inner = Decoder::new(SAMPLE_RATE, channels_of(channels)?)?;
        Ok(Self { inner, channels })
    }

    /// Channels of the decoded output.
    pub fn channels(&self) -> u32 {
        self.channels
    }

    /// Decodes `payload` into `out`; returns samples per channel written.
    /// `out` should hold [`MAX_FRAME_SAMPLES`] x channels so no packet is
    /// too long for it (a shorter buffer gives an error, not a panic).
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        check_payload(payload)?;
        Ok(self.inner.decode(payload, out, false)?)
    }

    /// Rebuilds the `frame_samples` (per channel) lost just before
    /// `next_payload` from that packet's in-band FEC; libopus falls back to
    /// loss concealment for whatever the FEC does not cover (all of it when
    /// the packet carries none). The decoder state advances as if the lost
    /// audio had been decoded, so `next_payload` is decoded normally after.
    pub fn decode_fec(
        &mut self,
        next_payload: &[u8],
        frame_samples: usize,
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        check_payload(next_payload)?;
        let out = self.concealment_slice(frame_samples, out)?;
        Ok(self.inner.decode(next_payload, out, true)?)
    }

    /// Packet loss concealment: synthesises `frame_samples` (per channel,
    /// a multiple of 2.5 ms) continuing the last decoded audio.
    pub fn conceal(&mut self, frame_samples: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        let out = self.concealment_slice(frame_samples, out)?;
        Ok(self.inner.decode(&[], out, false)?)
    }

    /// Forgets all history, as for a new stream.
    pub fn reset(&mut self) -> Result<(), CodecError> {
        Ok(self.inner.reset_state()?)
    }

    /// libopus takes the concealment length from the buffer length, which
    /// must be a whole number of 2.5 ms granules.
    fn concealment_slice<'a>(
        &self,
        frame_samples: usize,
        out: &'a mut [i16],
    ) -> Result<&'a mut [i16], CodecError> {
        let len = frame_samples * self.channels as usize;
        if frame_samples == 0
            || frame_samples > MAX_FRAME_SAMPLES
            || !frame_samples.is_multiple_of(FRAME_GRANULE)
            || out.len() < len
        {
            return Err(CodecError::InvalidFrameSize(frame_samples));
        }
        Ok(&mut out[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(frames: usize, channels: usize, amplitude: f64) -> Vec<i16> {
        (0..frames)
            .flat_map(|i| {
                let v = (amplitude
                    * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 48_000.0).sin())
                    as i16;
                std::iter::repeat_n(v, channels)
            })
            .collect()
    }

    #[test]
    fn round_trip_mono_and_stereo() {
        for channels in [1u32, 2] {
            let mut enc = OpusEncoder::new(channels, 32_000, false).unwrap();
            let mut dec = OpusDecoder::new(channels).unwrap();
            let pcm = sine(960, channels as usize, 10_000.0);
            let mut packet = [0u8; MAX_PACKET_BYTES];
            let mut out = vec![0i16; MAX_FRAME_SAMPLES * channels as usize];
            for _ in 0..5 {
                let n = enc.encode(&pcm, &mut packet).unwrap();
                assert!(n > 2);
                assert_eq!(packet_samples(&packet[..n]).unwrap(), 960);
                assert_eq!(dec.decode(&packet[..n], &mut out).unwrap(), 960);
            }
            assert!(out[..960].iter().any(|&s| s.abs() > 1000));
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(
            OpusEncoder::new(3, 32_000, false).unwrap_err(),
            CodecError::InvalidChannels(3)
        );
        assert_eq!(
            OpusEncoder::new(1, 0, false).unwrap_err(),
            CodecError::InvalidBitrate(0)
        );
        assert!(OpusDecoder::new(0).is_err());
        let mut enc = OpusEncoder::new(1, 32_000, false).unwrap();
        let mut packet = [0u8; MAX_PACKET_BYTES];
        assert_eq!(
            enc.encode(&[0; 100], &mut packet).unwrap_err(),
            CodecError::InvalidFrameSize(100)
        );
        let mut dec = OpusDecoder::new(1).unwrap();
        let mut out = vec![0i16; MAX_FRAME_SAMPLES];
        assert!(dec.conceal(100, &mut out).is_err());
        assert!(
            dec.conceal(MAX_FRAME_SAMPLES + FRAME_GRANULE, &mut out)
                .is_err()
        );
        assert!(dec.conceal(480, &mut out[..100]).is_err());
        assert_eq!(dec.conceal(480, &mut out).unwrap(), 480);
    }

    #[test]
    fn garbage_packets_are_errors() {
        let mut dec = OpusDecoder::new(2).unwrap();
        let mut out = vec![0i16; MAX_FRAME_SAMPLES * 2];
        assert!(dec.decode(&[], &mut out).is_err());
        assert!(packet_samples(&[]).is_err());
        // Code 3 packet claiming 63 frames of 60 ms: far over 120 ms.
        assert!(packet_samples(&[0xFB, 0x3F]).is_err());
        assert!(dec.decode(&[0xFB, 0x3F], &mut out).is_err());
        let mut state = 0x1234_5678u32;
        for len in 1..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                })
                .collect();
            let _ = packet_samples(&bytes);
            let _ = dec.decode(&bytes, &mut out);
            let _ = dec.decode_fec(&bytes, 960, &mut out);
        }
        assert!(dec.decode(&[0u8; MAX_PAYLOAD_BYTES + 1], &mut out).is_err());
    }

    #[test]
    fn fec_recovers_lost_frame() {
        let mut enc = OpusEncoder::new(1, 32_000, false).unwrap();
        let mut dec = OpusDecoder::new(1).unwrap();
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let mut out = vec![0i16; MAX_FRAME_SAMPLES];
        let mut packets = Vec::new();
        for k in 0..20 {
            let pcm = sine(960, 1, 8_000.0 + 100.0 * k as f64);
            let n = enc.encode(&pcm, &mut packet).unwrap();
            packets.push(packet[..n].to_vec());
        }
        for p in &packets[..10] {
            dec.decode(p, &mut out).unwrap();
        }
        // Packet 10 lost: rebuild it from packet 11.
        assert_eq!(dec.decode_fec(&packets[11], 960, &mut out).unwrap(), 960);
        let rms = (out[..960]
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / 960.0)
            .sqrt();
        assert!(rms > 3_000.0, "FEC output too quiet: {rms}");
        assert_eq!(dec.decode(&packets[11], &mut out).unwrap(), 960);
    }
}
