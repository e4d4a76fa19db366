//! Sans-IO send side: 10 ms PCM frames in, 20 ms Opus RTP payloads out.
//!
//! The capture side delivers 10 ms frames (as WebRTC's audio device module
//! does) in whatever format the application uses; Opus on the wire wants
//! 48 kHz and, as libwebrtc sends it, 20 ms packets. So frames are converted
//! with [`AudioResampler`], two of them are encoded together, and the RTP
//! timestamp, marker bit and RFC 6464 level that go with the packet are
//! computed here, leaving the caller only the sending.

use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;

use super::error::CodecError;
use super::level::{VOICE_LEVEL, rfc6464_level};
use super::opus::{MAX_PACKET_BYTES, OpusEncoder, SAMPLE_RATE};
use crate::audio::resampler::AudioResampler;

/// Samples per channel in one encoded packet: 20 ms at 48 kHz, also the RTP
/// timestamp step between packets.
pub const PACKET_SAMPLES: usize = 960;

/// Input rates accepted, in Hz: telephone band up to studio rates.
pub const INPUT_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;

/// Most input channels accepted (7.1).
pub const MAX_INPUT_CHANNELS: u32 = 8;

/// Encoded packets of at most this many bytes are Opus DTX "nothing new"
/// frames, which are not worth sending.
const DTX_PACKET_BYTES: usize = 2;

/// How the send pipeline encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Channels on the wire: 1 or 2.
    pub channels: u32,
    /// Target Opus bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Discontinuous transmission: send (almost) nothing during silence.
    pub dtx: bool,
}

/// One Opus packet ready to go into an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The Opus packet: the RTP payload.
    pub payload: Bytes,
    /// RTP timestamp (48 kHz clock) of the packet's first sample.
    pub timestamp: u32,
    /// RTP marker bit: set on the first packet of a talkspurt (the very
    /// first packet, the first after a DTX gap, the first after `reset`).
    pub marker: bool,
    /// RFC 6464 audio level of the encoded 20 ms: 0 (loudest) to 127
    /// (silence), in -dBov.
    pub level: u8,
    /// The RFC 6464 voice activity flag, from a plain energy threshold
    /// (see [`VOICE_LEVEL`]).
    pub voice: bool,
}

/// Turns a stream of 10 ms PCM frames into Opus RTP payloads. Sans-IO: no
/// clocks, threads or sockets; call [`push_10ms`](Self::push_10ms) for every
/// captured frame and send what it returns.
#[derive(Debug)]
pub struct AudioEncodePipeline {
    options: EncodeOptions,
    encoder: OpusEncoder,
    resampler: AudioResampler,
    /// Converted 48 kHz samples not yet encoded (less than one packet).
    pending: Vec<i16>,
    /// Encoder output, reused for every packet.
    packet: Vec<u8>,
    /// RTP timestamp of the first sample in `pending`.
    timestamp: u32,
    /// Whether the next packet sent starts a talkspurt.
    marker: bool,
    /// Whether a rejected input frame was already logged as a warning (one
    /// per pipeline: a misconfigured source would otherwise log 100 times a
    /// second).
    warned: bool,
}

impl AudioEncodePipeline {
    /// A pipeline encoding with `options`; fails on a channel count other
    /// than 1 or 2 or an unusable bitrate.
    pub fn new(options: EncodeOptions) -> Result<Self, CodecError> {
        let encoder = OpusEncoder::new(options.channels, options.bitrate_bps, options.dtx)?;
        let channels = options.channels as usize;
        Ok(Self {
            options,
            encoder,
            resampler: AudioResampler::new(),
            // Room for a packet plus the 10 ms (and odd sample) that may be
            // pending, so pushing never reallocates.
            pending: Vec::with_capacity(2 * PACKET_SAMPLES * channels),
            packet: vec![0; MAX_PACKET_BYTES],
            timestamp: random_u32(),
            marker: true,
            warned: false,
        })
    }

    /// The options this pipeline encodes with.
    pub fn options(&self) -> EncodeOptions {
        self.options
    }

    /// Takes one 10 ms frame of interleaved PCM at any rate in
    /// [`INPUT_RATES`] and 1..=[`MAX_INPUT_CHANNELS`] channels (for rates
    /// that are not a multiple of 100 Hz, either rounding of the length is
    /// accepted), converts it to 48 kHz with the wire channel count, and every
    /// 20 ms returns the encoded packet.
    ///
    /// With DTX, the encoder's tiny "nothing to send" packets (at most 2
    /// bytes) are not returned, but the RTP timestamp still advances by 960
    /// per 20 ms, and the first packet returned after such a gap carries the
    /// marker bit. The RTP timestamp starts at a random value.
    ///
    /// A frame that does not match its announced format is dropped (logged
    /// once), as is audio the encoder refuses; neither stops the stream.
    pub fn push_10ms(
        &mut self,
        pcm: &[i16],
        sample_rate: u32,
        num_channels: u32,
    ) -> Option<EncodedFrame> {
        if let Err(err) = self.convert(pcm, sample_rate, num_channels) {
            if !self.warned {
                self.warned = true;
                log::warn!("audio encoder dropped a frame: {err}");
            } else {
                log::debug!("audio encoder dropped a frame: {err}");
            }
            return None;
        }
        let len = PACKET_SAMPLES * self.options.channels as usize;
        if self.pending.len() < len {
            return None;
        }
        let timestamp = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(PACKET_SAMPLES as u32);
        let frame = &self.pending[..len];
        let level = rfc6464_level(frame);
        let encoded = self.encoder.encode(frame, &mut self.packet);
        self.pending.drain(..len);
        let size = match encoded {
            Ok(size) => size,
            Err(err) => {
                log::warn!("opus encoding failed: {err}");
                self.marker = true;
                return None;
            }
        };
        if self.options.dtx && size <= DTX_PACKET_BYTES {
            self.marker = true;
            return None;
        }
        let marker = std::mem::take(&mut self.marker);
        Some(EncodedFrame {
            payload: Bytes::copy_from_slice(&self.packet[..size]),
            timestamp,
            marker,
            level,
            voice: level < VOICE_LEVEL,
        })
    }

    /// Starts over after a mute: drops half-collected audio and the encoder's
    /// and resampler's history, so the first packet after unmuting does not
    /// carry the tail of what was captured before, and marks it as the start
    /// of a talkspurt. The RTP timestamp simply continues.
    pub fn reset(&mut self) {
        if let Err(err) = self.encoder.reset() {
            log::warn!("opus encoder reset failed: {err}");
        }
        self.resampler = AudioResampler::new();
        self.pending.clear();
        self.marker = true;
    }

    /// Checks one input frame and appends it, converted, to `pending`.
    fn convert(
        &mut self,
        pcm: &[i16],
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<(), CodecError> {
        let invalid = CodecError::InvalidInput {
            len: pcm.len(),
            sample_rate,
            channels: num_channels,
        };
        if !INPUT_RATES.contains(&sample_rate) || !(1..=MAX_INPUT_CHANNELS).contains(&num_channels)
        {
            return Err(invalid);
        }
        let samples_per_channel = pcm.len() / num_channels as usize;
        let ten_ms = (sample_rate / 100) as usize;
        let ten_ms_up = sample_rate.div_ceil(100) as usize;
        if !pcm.len().is_multiple_of(num_channels as usize)
            || !(ten_ms..=ten_ms_up).contains(&samples_per_channel)
        {
            return Err(invalid);
        }
        let converted = self.resampler.remix_and_resample(
            pcm,
            samples_per_channel as u32,
            num_channels,
            sample_rate,
            self.options.channels,
            SAMPLE_RATE,
        )?;
        self.pending.extend_from_slice(converted);
        Ok(())
    }
}

/// A random starting RTP timestamp (RFC 3550 asks for one, so a stream's
/// timestamps cannot be predicted). std's per-process random hasher keys are
/// plenty for that and need no extra dependency.
fn random_u32() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    hasher.finish() as u32
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audio::codec::opus::{MAX_FRAME_SAMPLES, OpusDecoder, packet_samples};

    /// 10 ms of a sine at `freq` starting at sample `start`, at `rate` with
    /// `channels` identical channels.
    pub(crate) fn sine_10ms(
        start: usize,
        rate: u32,
        channels: u32,
        freq: f64,
        amplitude: f64,
    ) -> Vec<i16> {
        let n = (rate / 100) as usize;
        (start..start + n)
            .flat_map(|i| {
                let v = (amplitude
                    * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16;
                std::iter::repeat_n(v, channels as usize)
            })
            .collect()
    }

    fn options(channels: u32, dtx: bool) -> EncodeOptions {
        EncodeOptions {
            channels,
            bitrate_bps: 32_000,
            dtx,
        }
    }

    #[test]
    fn emits_every_20ms_with_consecutive_timestamps() {
        let mut pipeline = AudioEncodePipeline::new(options(1, false)).unwrap();
        let mut frames = Vec::new();
        for k in 0..20 {
            let pcm = sine_10ms(k * 480, 48_000, 1, 440.0, 16_000.0);
            let out = pipeline.push_10ms(&pcm, 48_000, 1);
            assert_eq!(out.is_some(), k % 2 == 1, "frame {k}");
            frames.extend(out);
        }
        assert_eq!(frames.len(), 10);
        assert!(frames[0].marker);
        for pair in frames.windows(2) {
            assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(960));
            assert!(!pair[1].marker);
        }
        for frame in &frames {
            assert_eq!(packet_samples(&frame.payload).unwrap(), 960);
            // A sine at half scale: -9 dBov.
            assert_eq!(frame.level, 9);
            assert!(frame.voice);
        }
    }

    #[test]
    fn converts_any_rate_and_channel_count() {
        for (rate, channels, wire) in [
            (16_000, 1, 2),
            (44_100, 2, 1),
            (8_000, 6, 2),
            (192_000, 1, 1),
            (22_050, 1, 1),
        ] {
            let mut pipeline = AudioEncodePipeline::new(options(wire, false)).unwrap();
            let mut decoder = OpusDecoder::new(wire).unwrap();
            let mut out = vec![0i16; MAX_FRAME_SAMPLES * wire as usize];
            let mut emitted = 0;
            let n = rate / 100;
            for k in 0..30 {
                let pcm = sine_10ms(k * n as usize, rate, channels, 440.0, 10_000.0);
                if let Some(frame) = pipeline.push_10ms(&pcm, rate, channels) {
                    emitted += 1;
                    assert_eq!(decoder.decode(&frame.payload, &mut out).unwrap(), 960);
                }
            }
            assert!(
                (14..=15).contains(&emitted),
                "{rate} Hz x {channels}: {emitted} packets"
            );
            let tail = &out[..960 * wire as usize];
            assert!(
                tail.iter().any(|&s| s.abs() > 3_000),
                "{rate} Hz x {channels}: no signal"
            );
        }
    }

    #[test]
    fn malformed_input_is_dropped() {
        let mut pipeline = AudioEncodePipeline::new(options(1, false)).unwrap();
        assert!(pipeline.push_10ms(&[0; 479], 48_000, 1).is_none());
        assert!(pipeline.push_10ms(&[0; 480], 48_000, 0).is_none());
        assert!(pipeline.push_10ms(&[0; 480], 48_000, 9).is_none());
        assert!(pipeline.push_10ms(&[0; 40], 4_000, 1).is_none());
        assert!(pipeline.push_10ms(&[0; 960], 48_000, 1).is_none());
        // Nothing was kept: the next two good frames make exactly one packet.
        assert!(pipeline.push_10ms(&[0; 480], 48_000, 1).is_none());
        assert!(pipeline.push_10ms(&[0; 480], 48_000, 1).is_some());
        assert!(AudioEncodePipeline::new(options(3, false)).is_err());
    }

    #[test]
    fn dtx_skips_silence_and_marks_the_next_talkspurt() {
        let mut pipeline = AudioEncodePipeline::new(options(1, true)).unwrap();
        let mut frames = Vec::new();
        let mut k = 0;
        let mut push =
            |pipeline: &mut AudioEncodePipeline, loud: bool, frames: &mut Vec<EncodedFrame>| {
                let amplitude = if loud { 12_000.0 } else { 0.0 };
                let pcm = sine_10ms(k * 480, 48_000, 1, 440.0, amplitude);
                k += 1;
                frames.extend(pipeline.push_10ms(&pcm, 48_000, 1));
            };
        for _ in 0..20 {
            push(&mut pipeline, true, &mut frames);
        }
        let talk = frames.len();
        assert_eq!(talk, 10);
        for _ in 0..200 {
            push(&mut pipeline, false, &mut frames);
        }
        let silent = frames.len() - talk;
        // DTX sends a refresh packet now and then, but far fewer than 100.
        assert!(silent < 30, "{silent} packets sent during 2 s of silence");
        let before_resume = frames.len();
        for _ in 0..20 {
            push(&mut pipeline, true, &mut frames);
        }
        let resumed = &frames[before_resume];
        assert!(resumed.marker);
        assert!(resumed.voice);
        // 20 loud + 200 silent frames of 10 ms lie between the first packet
        // and the one after the gap: the clock kept running.
        assert_eq!(
            resumed.timestamp.wrapping_sub(frames[0].timestamp),
            220 * 480
        );
        let silent_frames = &frames[talk..before_resume];
        assert!(
            silent_frames
                .iter()
                .all(|f| !f.voice && f.level >= VOICE_LEVEL)
        );
    }

    #[test]
    fn reset_marks_and_continues_the_clock() {
        let mut pipeline = AudioEncodePipeline::new(options(2, false)).unwrap();
        let pcm = sine_10ms(0, 48_000, 2, 440.0, 10_000.0);
        assert!(pipeline.push_10ms(&pcm, 48_000, 2).is_none());
        let first = pipeline.push_10ms(&pcm, 48_000, 2).unwrap();
        assert!(pipeline.push_10ms(&pcm, 48_000, 2).is_none());
        pipeline.reset();
        assert!(pipeline.push_10ms(&pcm, 48_000, 2).is_none());
        let next = pipeline.push_10ms(&pcm, 48_000, 2).unwrap();
        assert!(next.marker);
        assert_eq!(next.timestamp, first.timestamp.wrapping_add(960));
    }
}
