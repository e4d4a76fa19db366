//! Sans-IO receive side: RTP Opus packets in as they arrive, a steady 10 ms
//! of 48 kHz PCM out on every playout tick, like libwebrtc's NetEq.
//!
//! # Playout
//!
//! Playout follows the RTP timestamps: `play_ts` is the timestamp of the
//! next sample to play, and each [`AudioDecodePipeline::pull_10ms`] plays
//! the 480 samples from there, decoding packets (10 to 120 ms each, their
//! length read from the Opus TOC) as `play_ts` reaches them.
//!
//! - **Start**: the first packet of a stream starts *buffering*; playout
//!   begins on the first tick a target delay (at least [`MIN_TARGET_MS`],
//!   20 ms) after that packet arrived, from the earliest packet then
//!   buffered. Until then the output is silence. A talkspurt after a DTX
//!   pause starts the same way, with the target of the moment.
//! - **Loss**: when the packet at `play_ts` is missing but a later one is
//!   buffered, the gap is rebuilt from the later packet's in-band FEC when
//!   it is at most 20 ms, and otherwise concealed (libopus PLC) up to that
//!   last 20 ms. Concealment fades to silence after 100 ms.
//! - **DTX**: a timestamp gap between packets with consecutive sequence
//!   numbers is a sender's silence, played as silence.
//! - **Underrun**: when nothing at all is buffered, playout *stalls*: the
//!   output is concealment, and `play_ts` waits. If the awaited packet
//!   arrives within the 100 ms of concealment, playout resumes with it at
//!   once (the stall became extra delay); if a later packet comes first, or
//!   the stall lasts longer, the pipeline buffers afresh as at the start
//!   (still resuming at once should the awaited packet turn up within the
//!   100 ms), skipping whatever was concealed. A stall right after quiet
//!   audio is taken for the sender's DTX: silence, not counted as
//!   concealment.
//! - **Too much delay**: when the buffered audio reaches more than the target
//!   delay + 40 ms, one 10 ms chunk is dropped per tick while it is quiet
//!   (or unconditionally past target + 120 ms), so the delay shrinks back
//!   in silence rather than in the middle of a word. A surplus that never
//!   drains is cut even in sound: if for 500 ms the buffer never fell below
//!   target + 5 ms (a burst at the start of a stream leaves exactly that,
//!   and continuous sound is never quiet), 10 ms is dropped, at most once
//!   per window, which brings the delay back to the target within a few
//!   windows.
//! - **Late, duplicate, ancient packets** are dropped. A packet far from the
//!   stream (sequence number jump over 100, timestamp over 2 s off) is held
//!   as the possible start of a new stream (new SSRC, sender restart); if
//!   the next packet continues from it, the pipeline resyncs to the new
//!   stream, otherwise it is dropped.
//!
//! The target delay comes from [`DelayEstimator`]: 95th percentile of the
//! arrival jitter over the last ~2 s plus 10 ms, held up for ~2 s by any
//! reordered packet's lateness plus 10 ms, 20..200 ms. It takes effect
//! when playout (re)starts and through the drop threshold; a rising jitter
//! is absorbed by stalls, which add their length to the delay, as in NetEq.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::error::CodecError;
#[cfg(doc)]
use super::jitter::MIN_TARGET_MS;
use super::jitter::{DelayEstimator, Insert, PacketBuffer, SAMPLES_PER_MS, Slot};
use super::level::{VOICE_LEVEL, rfc6464_level};
use super::opus::{FRAME_GRANULE, MAX_FRAME_SAMPLES, OpusDecoder, SAMPLE_RATE, packet_samples};
use super::unwrap::{SeqUnwrapper, TsUnwrapper};

/// Pulls over which the smallest surplus delay is watched (500 ms).
const SURPLUS_WINDOW: u32 = 50;

/// A surplus over the target that lasted a whole window and is larger than
/// this is cut, even in sound.
const DROP_SUSTAINED_ABOVE: i64 = 5 * SAMPLES_PER_MS;

/// Samples per channel in one pull: 10 ms at 48 kHz.
pub const PULL_SAMPLES: usize = 480;

/// Concealment synthesised before fading to silence: beyond 100 ms, PLC
/// turns into an audible buzz rather than a bridge.
const PLC_LIMIT: i64 = 100 * SAMPLES_PER_MS;

/// Longest gap rebuilt from FEC: Opus carries one 20 ms frame of redundancy.
const FEC_SPAN: i64 = 20 * SAMPLES_PER_MS;

/// Buffered audio beyond target + this starts dropping quiet chunks.
const DROP_QUIET_ABOVE: i64 = 40 * SAMPLES_PER_MS;

/// Buffered audio beyond target + this drops chunks whatever they hold.
const DROP_ANY_ABOVE: i64 = 120 * SAMPLES_PER_MS;

/// Sequence number jump that does not belong to the current stream.
const MAX_SEQ_JUMP: i64 = 100;

/// Timestamp distance (2 s) that does not belong to the current stream.
const MAX_TS_JUMP: i64 = 2_000 * SAMPLES_PER_MS;

/// Pulls over which the reported audio level peak is taken (100 ms, like
/// libwebrtc's).
const LEVEL_WINDOW: u32 = 10;

/// One RTP packet of an Opus stream, as the transport received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz).
    pub timestamp: u32,
    /// The primary Opus payload (the RED primary block when RED is used).
    pub payload: Bytes,
    /// RED (RFC 2198) redundant blocks, oldest first, with their absolute
    /// RTP timestamps.
    pub redundancy: Vec<(u32, Bytes)>,
}

/// Receive statistics, enough for W3C `inbound-rtp` audio stats.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecodeStats {
    /// Primary packets received, duplicates and late ones included.
    pub packets_received: u64,
    /// Packets expected (by sequence number) but not received, summed over
    /// streams; negative with duplicates, as in RFC 3550.
    pub packets_lost: i64,
    /// Packets received but not played: late, duplicate, unparsable, stray,
    /// or refused by a full buffer.
    pub packets_discarded: u64,
    /// Of those, duplicates.
    pub packets_duplicated: u64,
    /// Samples (per channel) rebuilt from in-band FEC.
    pub fec_samples: u64,
    /// Samples (per channel) synthesised for missing audio, PLC and silence.
    pub concealed_samples: u64,
    /// Of those, the silent ones (after PLC faded out).
    pub silent_concealed_samples: u64,
    /// Times concealment started after real audio.
    pub concealment_events: u64,
    /// Samples (per channel) dropped to bring the delay down.
    pub removed_samples_for_acceleration: u64,
    /// Samples (per channel) played out since the stream started,
    /// concealment included (W3C `totalSamplesReceived`).
    pub total_samples_received: u64,
    /// Seconds of audio played out since the stream started.
    pub total_samples_duration_s: f64,
    /// W3C `totalAudioEnergy`: sum of squared samples (normalised to full
    /// scale, averaged over channels) times their duration.
    pub total_audio_energy: f64,
    /// Peak level of the last 100 ms played, 0..1 linear (W3C
    /// `audioLevel`).
    pub audio_level: f64,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Audio buffered ahead of playout now, in milliseconds.
    pub current_delay_ms: f64,
    /// The delay the buffer aims for, in milliseconds.
    pub target_delay_ms: f64,
    /// W3C `jitterBufferDelay`: sum over decoded samples of the time their
    /// packet waited between arrival and decoding, in seconds.
    pub jitter_buffer_delay_s: f64,
    /// W3C `jitterBufferEmittedCount`: samples counted in
    /// `jitter_buffer_delay_s`.
    pub jitter_buffer_emitted_count: u64,
    /// Times the pipeline resynchronised to a new stream.
    pub stream_resets: u64,
}

/// Where playout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No packet yet: silence.
    Idle,
    /// Collecting packets; playout starts at `since` + target delay.
    Buffering { since: Instant },
    /// Playing from `play_ts`.
    Playing,
    /// Ran dry at `play_ts`: concealing while waiting for packets.
    Stalled,
}

/// Sequence number accounting for one stream, for `packets_lost`.
#[derive(Debug, Clone, Copy)]
struct SeqStats {
    base: i64,
    max: i64,
    received: i64,
    /// Bit `i` set: sequence number `max - i` was received.
    recent: u128,
}

impl Default for SeqStats {
    fn default() -> Self {
        Self::start(0)
    }
}

impl SeqStats {
    fn start(seq: i64) -> Self {
        Self {
            base: seq,
            max: seq - 1,
            received: 0,
            recent: 0,
        }
    }

    /// Records `seq`; returns whether it was already received.
    fn record(&mut self, seq: i64) -> bool {
        self.received += 1;
        if seq > self.max {
            let shift = seq - self.max;
            self.recent = if shift >= 128 {
                0
            } else {
                self.recent << shift
            };
            self.recent |= 1;
            self.max = seq;
            return false;
        }
        let back = self.max - seq;
        if back >= 128 {
            return false;
        }
        let duplicate = self.recent & (1 << back) != 0;
        self.recent |= 1 << back;
        duplicate
    }

    fn lost(&self) -> i64 {
        (self.max - self.base + 1) - self.received
    }
}

/// A packet far from the current stream, kept in case it starts a new one.
#[derive(Debug, Clone)]
struct Candidate {
    packet: ReceivedPacket,
    arrival: Instant,
}

/// Turns received Opus RTP packets into a steady stream of 10 ms PCM frames
/// at 48 kHz. Sans-IO: feed packets with [`push`](Self::push) as they
/// arrive, and call [`pull_10ms`](Self::pull_10ms) every 10 ms from a
/// timer. See the module documentation for the playout policy.
#[derive(Debug)]
pub struct AudioDecodePipeline {
    channels: usize,
    decoder: OpusDecoder,
    buffer: PacketBuffer,
    estimator: DelayEstimator,
    seq: SeqUnwrapper,
    ts: TsUnwrapper,
    state: State,
    /// Unwrapped timestamp of the next sample to play.
    play_ts: i64,
    /// Whether `play_ts` belongs to the current stream (playout started
    /// since the last resync), so packets behind it are late.
    play_valid: bool,
    /// Sequence number of the last packet decoded, to tell DTX from loss.
    last_seq: Option<i64>,
    /// Decoded (or concealed) audio starting at `play_ts`: frames
    /// `decoded_pos..decoded_len` of `decoded` are still to be played.
    decoded: Vec<i16>,
    decoded_pos: usize,
    decoded_len: usize,
    /// The frame handed out by `pull_10ms`.
    output: Vec<i16>,
    /// Samples concealed since the last real audio.
    concealed_run: i64,
    /// Whether the last packet decoded held only quiet audio.
    last_quiet: bool,
    /// Whether the current stall followed quiet audio, and so is taken for
    /// the sender's DTX rather than a loss.
    dtx_pause: bool,
    /// Whether any audio was played yet (statistics count from there).
    started: bool,
    seq_stats: SeqStats,
    /// Losses of earlier streams.
    lost_before: i64,
    candidate: Option<Candidate>,
    stats: DecodeStats,
    level_peak: i16,
    level_pulls: u32,
    /// Smallest surplus over the target in the current window, and the
    /// pulls counted in it.
    surplus_min: i64,
    surplus_pulls: u32,
}

impl AudioDecodePipeline {
    /// A pipeline decoding to `channels` (1 or 2) whatever the sender's
    /// channel count.
    pub fn new(channels: u32) -> Result<Self, CodecError> {
        let decoder = OpusDecoder::new(channels)?;
        let channels = channels as usize;
        Ok(Self {
            channels,
            decoder,
            buffer: PacketBuffer::default(),
            estimator: DelayEstimator::default(),
            seq: SeqUnwrapper::default(),
            ts: TsUnwrapper::default(),
            state: State::Idle,
            play_ts: 0,
            play_valid: false,
            last_seq: None,
            decoded: vec![0; MAX_FRAME_SAMPLES * channels],
            decoded_pos: 0,
            decoded_len: 0,
            output: vec![0; PULL_SAMPLES * channels],
            concealed_run: 0,
            last_quiet: false,
            dtx_pause: false,
            started: false,
            seq_stats: SeqStats::default(),
            lost_before: 0,
            candidate: None,
            stats: DecodeStats::default(),
            level_peak: 0,
            level_pulls: 0,
            surplus_min: i64::MAX,
            surplus_pulls: 0,
        })
    }

    /// Channels of the output.
    pub fn channels(&self) -> u32 {
        self.channels as u32
    }

    /// Takes a packet that arrived at `now`. Never fails: packets that cannot
    /// be used are counted in the statistics and dropped.
    pub fn push(&mut self, packet: ReceivedPacket, now: Instant) {
        self.stats.packets_received += 1;
        if self.state == State::Idle {
            self.start_stream(packet, now);
            return;
        }
        if self.is_far(&packet) {
            self.offer_candidate(packet, now);
            return;
        }
        if self.candidate.take().is_some() {
            self.stats.packets_discarded += 1;
        }
        self.accept(packet, now);
    }

    /// Exactly 10 ms of 48 kHz interleaved output (`480 * channels`
    /// samples), whatever arrived: silence before the first packet,
    /// concealment for missing packets, silence in DTX gaps.
    pub fn pull_10ms(&mut self, now: Instant) -> &[i16] {
        if let State::Buffering { since } = self.state {
            let wait =
                Duration::from_micros((self.estimator.target() * 1000 / SAMPLES_PER_MS) as u64);
            let due = since.checked_add(wait).is_none_or(|due| now >= due);
            match self.buffer.front() {
                Some(front) if due => {
                    self.play_ts = front.ts;
                    self.play_valid = true;
                    self.decoded_pos = 0;
                    self.decoded_len = 0;
                    self.state = State::Playing;
                    self.started = true;
                }
                _ => {
                    self.conceal_output();
                    self.finish_pull();
                    return &self.output;
                }
            }
        }
        match self.state {
            State::Idle | State::Buffering { .. } => self.output.fill(0),
            State::Stalled => self.conceal_output(),
            State::Playing => {
                let sustained = self.sustained_surplus();
                if sustained || self.over_delay(DROP_QUIET_ABOVE) {
                    self.fill(now);
                    let quiet = rfc6464_level(&self.output) >= VOICE_LEVEL;
                    if self.state == State::Playing
                        && (quiet || sustained || self.over_delay(DROP_ANY_ABOVE))
                    {
                        self.stats.removed_samples_for_acceleration += PULL_SAMPLES as u64;
                        self.fill(now);
                    }
                } else {
                    self.fill(now);
                }
            }
        }
        self.finish_pull();
        &self.output
    }

    /// Statistics so far.
    pub fn stats(&self) -> DecodeStats {
        let mut stats = self.stats;
        stats.packets_lost = self.lost_before + self.seq_stats.lost();
        stats.jitter_ms = self.estimator.jitter_ms();
        stats.target_delay_ms = (self.estimator.target() as f64) / SAMPLES_PER_MS as f64;
        stats.current_delay_ms = (self.buffered() as f64) / SAMPLES_PER_MS as f64;
        stats
    }

    /// Audio available ahead of `play_ts`, in samples.
    fn buffered(&self) -> i64 {
        let decoded = (self.decoded_len - self.decoded_pos) as i64;
        match self.state {
            State::Playing | State::Stalled => {
                let end = self.buffer.end().unwrap_or(self.play_ts);
                (end - self.play_ts).max(decoded)
            }
            State::Buffering { .. } => match (self.buffer.front(), self.buffer.end()) {
                (Some(front), Some(end)) => end - front.ts,
                _ => 0,
            },
            State::Idle => 0,
        }
    }

    /// Whether a whole window went by with the buffer above target +
    /// [`DROP_SUSTAINED_ABOVE`]; starts the next window when one ends.
    fn sustained_surplus(&mut self) -> bool {
        let surplus = self.buffer.newest_ts().map_or(i64::MIN, |newest| {
            newest - self.play_ts - self.estimator.target()
        });
        self.surplus_min = self.surplus_min.min(surplus);
        self.surplus_pulls += 1;
        if self.surplus_pulls < SURPLUS_WINDOW {
            return false;
        }
        let sustained = self.surplus_min > DROP_SUSTAINED_ABOVE;
        self.surplus_min = i64::MAX;
        self.surplus_pulls = 0;
        sustained
    }

    /// Whether the newest packet waits more than target + `margin` to play.
    fn over_delay(&self, margin: i64) -> bool {
        self.buffer
            .newest_ts()
            .is_some_and(|newest| newest - self.play_ts > self.estimator.target() + margin)
    }

    /// First packet of a stream: starts buffering.
    fn start_stream(&mut self, packet: ReceivedPacket, now: Instant) {
        self.buffer.clear();
        self.seq.reset();
        self.ts.reset();
        self.estimator.new_stream();
        self.last_seq = None;
        self.play_valid = false;
        self.decoded_pos = 0;
        self.decoded_len = 0;
        self.lost_before += self.seq_stats.lost();
        let seq = self.seq.peek(u32::from(packet.sequence));
        self.seq_stats = SeqStats::start(seq);
        self.state = State::Buffering { since: now };
        self.accept(packet, now);
    }

    /// Whether `packet` lies too far from the current stream to belong to it.
    fn is_far(&self, packet: &ReceivedPacket) -> bool {
        let seq = self.seq.peek(u32::from(packet.sequence));
        let ts = self.ts.peek(packet.timestamp);
        let reference = match self.state {
            State::Playing | State::Stalled => self.play_ts,
            _ => self.buffer.front().map_or(ts, |front| front.ts),
        };
        (seq - self.seq_stats.max).abs() > MAX_SEQ_JUMP || (ts - reference).abs() > MAX_TS_JUMP
    }

    /// A far packet: resync if it continues the previous far packet, else
    /// remember it.
    fn offer_candidate(&mut self, packet: ReceivedPacket, now: Instant) {
        if let Some(candidate) = self.candidate.take() {
            let seq_step = packet.sequence.wrapping_sub(candidate.packet.sequence) as i16;
            let ts_step = packet.timestamp.wrapping_sub(candidate.packet.timestamp) as i32;
            if (1..=MAX_SEQ_JUMP as i16).contains(&seq_step)
                && i64::from(ts_step).abs() <= MAX_TS_JUMP
            {
                log::debug!(
                    "audio stream resync at sequence number {}",
                    candidate.packet.sequence
                );
                self.stats.stream_resets += 1;
                self.start_stream(candidate.packet, candidate.arrival);
                self.accept(packet, now);
                return;
            }
            self.stats.packets_discarded += 1;
        }
        self.candidate = Some(Candidate {
            packet,
            arrival: now,
        });
    }

    /// Files a packet of the current stream.
    fn accept(&mut self, packet: ReceivedPacket, now: Instant) {
        let seq = self.seq.peek(u32::from(packet.sequence));
        let ts = self.ts.peek(packet.timestamp);
        if self.seq_stats.record(seq) {
            self.stats.packets_duplicated += 1;
            self.stats.packets_discarded += 1;
            return;
        }
        // Unwrap against the newest packet, so reordering never drags the
        // reference back.
        if seq == self.seq_stats.max {
            self.seq.set(seq);
            self.ts.set(ts);
        }
        self.estimator.on_packet(now, ts);

        let count = packet.redundancy.len() as i64;
        let mut added = false;
        for (k, (red_ts, payload)) in packet.redundancy.into_iter().enumerate() {
            let red_ts = self.ts.peek(red_ts);
            if red_ts < ts && !self.buffer.contains_ts(red_ts) {
                added |= self.file(seq - (count - k as i64), red_ts, payload, now, true);
            }
        }
        if self.file(seq, ts, packet.payload, now, false) {
            added = true;
        } else {
            self.stats.packets_discarded += 1;
        }
        let waiting = match self.state {
            State::Stalled => true,
            State::Buffering { .. } => self.play_valid,
            _ => false,
        };
        if added && waiting {
            // Resume at once when the awaited packet arrives while
            // concealment still bridges the gap; after a later packet only,
            // buffer afresh (the awaited one may still come meanwhile).
            let awaited = self
                .buffer
                .front()
                .is_some_and(|front| front.ts <= self.play_ts);
            if awaited && self.concealed_run < PLC_LIMIT {
                self.state = State::Playing;
            } else if self.state == State::Stalled {
                self.state = State::Buffering { since: now };
            }
        }
    }

    /// Stores one Opus payload if it can still be played; returns whether it
    /// was stored.
    fn file(&mut self, seq: i64, ts: i64, payload: Bytes, now: Instant, redundant: bool) -> bool {
        let Ok(samples) = packet_samples(&payload) else {
            return false;
        };
        let samples = samples as i64;
        if self.play_valid && ts + samples <= self.play_ts {
            return false;
        }
        let slot = Slot {
            seq,
            ts,
            samples,
            payload,
            arrival: now,
            redundant,
        };
        self.buffer.insert(slot) == Insert::Added
    }

    /// Plays 480 samples from `play_ts` into `output`, decoding and
    /// concealing as needed. Stalls when nothing is left.
    fn fill(&mut self, now: Instant) {
        let channels = self.channels;
        let mut filled = 0;
        while filled < PULL_SAMPLES {
            if self.decoded_pos < self.decoded_len {
                let n = (self.decoded_len - self.decoded_pos).min(PULL_SAMPLES - filled);
                let from = self.decoded_pos * channels;
                self.output[filled * channels..(filled + n) * channels]
                    .copy_from_slice(&self.decoded[from..from + n * channels]);
                self.decoded_pos += n;
                filled += n;
                self.play_ts += n as i64;
                continue;
            }
            self.stats.packets_discarded += self.buffer.drop_late(self.play_ts);
            let Some(front) = self.buffer.front() else {
                // Underrun: conceal the rest and wait for packets. After
                // quiet audio this is most likely the sender's DTX: silence,
                // not counted as concealment.
                self.dtx_pause = self.last_quiet;
                self.conceal(PULL_SAMPLES - filled);
                let n = PULL_SAMPLES - filled;
                self.output[filled * channels..].copy_from_slice(&self.decoded[..n * channels]);
                self.decoded_len = 0;
                self.decoded_pos = 0;
                self.state = State::Stalled;
                return;
            };
            let gap = front.ts - self.play_ts;
            if gap <= 0 {
                if let Some(slot) = self.buffer.pop_front() {
                    self.decode(&slot, now, (-gap) as usize);
                }
            } else if self.last_seq == Some(front.seq - 1) {
                // DTX: the sender had nothing to say until `front`.
                let n = (gap as usize).min(PULL_SAMPLES - filled);
                self.output[filled * channels..(filled + n) * channels].fill(0);
                filled += n;
                self.play_ts += n as i64;
            } else if gap > FEC_SPAN {
                self.conceal((gap - FEC_SPAN) as usize);
            } else {
                let payload = front.payload.clone();
                self.recover(&payload, gap as usize);
            }
        }
    }

    /// Decodes `slot` into `decoded`, skipping its first `skip` samples
    /// (already played as concealment).
    fn decode(&mut self, slot: &Slot, now: Instant, skip: usize) {
        match self.decoder.decode(&slot.payload, &mut self.decoded) {
            Ok(samples) if samples > skip => {
                self.decoded_pos = skip;
                self.decoded_len = samples;
                self.last_quiet =
                    rfc6464_level(&self.decoded[..samples * self.channels]) >= VOICE_LEVEL;
                self.dtx_pause = false;
                self.last_seq = Some(slot.seq);
                self.concealed_run = 0;
                let waited = now.saturating_duration_since(slot.arrival).as_secs_f64();
                self.stats.jitter_buffer_delay_s += waited * samples as f64;
                self.stats.jitter_buffer_emitted_count += samples as u64;
            }
            Ok(_) => {}
            Err(err) => {
                log::debug!("undecodable opus packet: {err}");
                self.stats.packets_discarded += u64::from(!slot.redundant);
                // Nothing decoded: the gap to the next packet is concealed.
            }
        }
    }

    /// Rebuilds the `gap` samples before `next` from its FEC into `decoded`.
    fn recover(&mut self, next: &[u8], gap: usize) {
        let samples = gap.next_multiple_of(FRAME_GRANULE);
        match self.decoder.decode_fec(next, samples, &mut self.decoded) {
            Ok(n) if n > 0 => {
                self.decoded_pos = 0;
                self.decoded_len = n;
                self.concealed_run = 0;
                self.stats.fec_samples += n as u64;
            }
            result => {
                if let Err(err) = result {
                    log::debug!("opus fec failed: {err}");
                }
                self.conceal(gap);
            }
        }
    }

    /// Puts `samples` (rounded up to 2.5 ms, at most 120 ms) of concealment
    /// in `decoded`: PLC for the first 100 ms after real audio, then silence.
    fn conceal(&mut self, samples: usize) {
        let samples = samples
            .next_multiple_of(FRAME_GRANULE)
            .min(MAX_FRAME_SAMPLES);
        let len = samples * self.channels;
        self.decoded_pos = 0;
        self.decoded_len = samples;
        if self.dtx_pause {
            self.decoded[..len].fill(0);
            self.concealed_run += samples as i64;
            return;
        }
        if self.concealed_run == 0 {
            self.stats.concealment_events += 1;
        }
        let plc = self.concealed_run < PLC_LIMIT && self.last_seq.is_some();
        let synthesised = plc && self.decoder.conceal(samples, &mut self.decoded).is_ok();
        if !synthesised {
            self.decoded[..len].fill(0);
            self.stats.silent_concealed_samples += samples as u64;
        }
        self.stats.concealed_samples += samples as u64;
        self.concealed_run += samples as i64;
    }

    /// A whole output frame of concealment, without moving `play_ts`
    /// (stalled or rebuffering).
    fn conceal_output(&mut self) {
        if !self.started {
            self.output.fill(0);
            return;
        }
        self.conceal(PULL_SAMPLES);
        let len = PULL_SAMPLES * self.channels;
        self.output.copy_from_slice(&self.decoded[..len]);
        self.decoded_pos = 0;
        self.decoded_len = 0;
    }

    /// Statistics of the frame just produced.
    fn finish_pull(&mut self) {
        if !self.started {
            return;
        }
        self.stats.total_samples_received += PULL_SAMPLES as u64;
        self.stats.total_samples_duration_s += PULL_SAMPLES as f64 / f64::from(SAMPLE_RATE);
        let energy: f64 = self
            .output
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum();
        self.stats.total_audio_energy += energy / self.channels as f64 / f64::from(SAMPLE_RATE);
        let peak = self
            .output
            .iter()
            .map(|&s| s.saturating_abs())
            .max()
            .unwrap_or(0);
        self.level_peak = self.level_peak.max(peak);
        self.level_pulls += 1;
        if self.level_pulls >= LEVEL_WINDOW {
            self.stats.audio_level = f64::from(self.level_peak) / 32767.0;
            self.level_peak = 0;
            self.level_pulls = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::codec::encode::tests::sine_10ms;
    use crate::audio::codec::encode::{AudioEncodePipeline, EncodeOptions};
    use crate::audio::codec::jitter::MIN_TARGET_MS;
    use crate::audio::codec::opus::OpusEncoder;

    const SINE_AMPLITUDE: f64 = 10_000.0;

    /// The minimum target delay in ms.
    const MIN_MS: usize = MIN_TARGET_MS as usize;

    /// Where a clean stream from [`rtp`] (5 ms of latency) plays in the
    /// output of [`play`]: its first packet arrives at 25 ms, playout starts
    /// on the tick at 25 ms + the target, and the tick at `t` ms fills the
    /// output from `t - 5` ms on. So audio captured at `t` plays at `t` +
    /// this.
    const LAG_MS: usize = 20 + MIN_MS;

    /// RMS of the test sine.
    fn sine_rms() -> f64 {
        SINE_AMPLITUDE / 2f64.sqrt()
    }

    /// Encoded 20 ms packets (timestamp relative to the first, payload) of
    /// `ms` of a 440 Hz sine, or silence where `loud` says so.
    fn encode(ms: usize, dtx: bool, loud: impl Fn(usize) -> bool) -> Vec<(u32, Bytes)> {
        let mut pipeline = AudioEncodePipeline::new(EncodeOptions {
            channels: 1,
            bitrate_bps: 32_000,
            dtx,
        })
        .unwrap();
        let mut frames = Vec::new();
        let mut first = None;
        for k in 0..ms / 10 {
            let amplitude = if loud(k * 10) { SINE_AMPLITUDE } else { 0.0 };
            let pcm = sine_10ms(k * 480, 48_000, 1, 440.0, amplitude);
            if let Some(frame) = pipeline.push_10ms(&pcm, 48_000, 1) {
                let first =
                    *first.get_or_insert(frame.timestamp.wrapping_sub(960 * (k as u32 / 2)));
                frames.push((frame.timestamp.wrapping_sub(first), frame.payload));
            }
        }
        frames
    }

    fn sine_packets(ms: usize) -> Vec<(u32, Bytes)> {
        encode(ms, false, |_| true)
    }

    /// RTP packets with sequence numbers from `seq0` and timestamps from
    /// `ts0`, each arriving (in ms) `latency_ms` after its audio was
    /// captured.
    fn rtp(
        frames: &[(u32, Bytes)],
        seq0: u16,
        ts0: u32,
        latency_ms: u64,
    ) -> Vec<(u64, ReceivedPacket)> {
        frames
            .iter()
            .enumerate()
            .map(|(k, (ts, payload))| {
                let captured_ms = u64::from(*ts) / 48 + 20;
                (
                    captured_ms + latency_ms,
                    ReceivedPacket {
                        sequence: seq0.wrapping_add(k as u16),
                        timestamp: ts0.wrapping_add(*ts),
                        payload: payload.clone(),
                        redundancy: Vec::new(),
                    },
                )
            })
            .collect()
    }

    /// Runs a pipeline for `ms`: packets are pushed at their arrival time
    /// (in the order given when times are equal), and pulled every 10 ms,
    /// 5 ms off the packet clock.
    fn play(
        pipeline: &mut AudioDecodePipeline,
        mut packets: Vec<(u64, ReceivedPacket)>,
        ms: u64,
    ) -> Vec<i16> {
        let start = Instant::now();
        packets.sort_by_key(|(at, _)| *at);
        let mut packets = packets.into_iter().peekable();
        let mut out = Vec::new();
        for tick in 0..ms / 10 {
            let now_ms = tick * 10 + 5;
            while let Some((_, packet)) = packets.next_if(|(at, _)| *at <= now_ms) {
                pipeline.push(packet, start + Duration::from_millis(now_ms));
            }
            let channels = pipeline.channels;
            let pcm = pipeline.pull_10ms(start + Duration::from_millis(now_ms));
            assert_eq!(pcm.len(), PULL_SAMPLES * channels);
            out.extend_from_slice(pcm);
        }
        out
    }

    fn run(packets: Vec<(u64, ReceivedPacket)>, ms: u64) -> (Vec<i16>, DecodeStats) {
        let mut pipeline = AudioDecodePipeline::new(1).unwrap();
        let out = play(&mut pipeline, packets, ms);
        (out, pipeline.stats())
    }

    fn rms(pcm: &[i16]) -> f64 {
        (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt()
    }

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    /// Frequency from upward zero crossings.
    fn frequency(pcm: &[i16]) -> f64 {
        let crossings = pcm.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        crossings as f64 * 48_000.0 / pcm.len() as f64
    }

    /// Samples in `m` ms.
    fn ms(m: usize) -> usize {
        m * 48
    }

    #[test]
    fn silence_before_the_first_packet() {
        let mut pipeline = AudioDecodePipeline::new(2).unwrap();
        let now = Instant::now();
        for _ in 0..5 {
            let pcm = pipeline.pull_10ms(now);
            assert_eq!(pcm.len(), 960);
            assert!(pcm.iter().all(|&s| s == 0));
        }
        assert_eq!(pipeline.stats().total_samples_received, 0);
        assert!(AudioDecodePipeline::new(3).is_err());
    }

    #[test]
    fn in_order_stream_decodes_the_sine_with_small_delay() {
        let (out, stats) = run(rtp(&sine_packets(2_000), 1_000, 77_777, 5), 2_000);
        let steady = &out[ms(200)..ms(1_900)];
        let f = frequency(steady);
        assert!((f - 440.0).abs() < 2.0, "frequency {f}");
        let level = db(rms(steady) / sine_rms());
        assert!(level.abs() < 1.0, "level off by {level:.2} dB");
        // Capture to playout: 20 ms packet + 5 ms network + 20 ms jitter
        // buffer + up to a tick + codec delay.
        let first = out.iter().position(|&s| s.abs() > 2_000).unwrap();
        assert!(
            first < ms(MIN_MS + 50),
            "first audio after {} ms",
            first / 48
        );
        // The last packet arrives after the run.
        assert_eq!(stats.packets_received, 99);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.packets_discarded, 0);
        assert_eq!(stats.fec_samples, 0);
        assert_eq!(stats.concealed_samples, 0);
        assert_eq!(stats.target_delay_ms, MIN_MS as f64);
        let buffered = stats.jitter_buffer_delay_s / stats.jitter_buffer_emitted_count as f64;
        let min = MIN_MS as f64 / 1000.0;
        assert!(
            (min - 0.005..min + 0.015).contains(&buffered),
            "jitter buffer delay {buffered}"
        );
        assert!(stats.jitter_ms < 1.0);
        assert!(stats.audio_level > 0.25 && stats.audio_level < 0.35);
        let duration = stats.total_samples_received as f64 / 48_000.0;
        assert!((stats.total_samples_duration_s - duration).abs() < 1e-9);
        // Mean square of the sine (1/2 of amplitude^2) over the played time.
        let energy = (SINE_AMPLITUDE / 32768.0).powi(2) / 2.0 * duration;
        assert!((stats.total_audio_energy / energy - 1.0).abs() < 0.1);
    }

    #[test]
    fn lost_packet_is_rebuilt_from_fec() {
        // Packet 20, while the encoder still codes the pure sine with SILK
        // (after ~0.7 s it moves to CELT, which has no FEC, as it would for
        // music).
        let mut packets = rtp(&sine_packets(1_000), 0, 0, 5);
        let (clean, _) = run(packets.clone(), 1_000);
        packets.remove(20);
        let (out, stats) = run(packets, 1_000);
        assert_eq!(stats.packets_lost, 1);
        assert_eq!(stats.fec_samples, 960);
        assert_eq!(stats.concealed_samples, 0);
        // Every 10 ms stays within 1 dB of the clean run.
        for k in 10..95 {
            let diff = db(rms(&out[k * 480..(k + 1) * 480]) / rms(&clean[k * 480..(k + 1) * 480]));
            assert!(diff.abs() < 1.0, "chunk {k}: {diff:.2} dB");
        }
    }

    #[test]
    fn longer_losses_are_concealed() {
        let mut packets = rtp(&sine_packets(2_000), 0, 0, 5);
        let (clean, _) = run(packets.clone(), 2_000);
        // 100 ms lost: the buffer runs dry, PLC covers until packet 45
        // arrives, then playout resumes after a fresh target delay of
        // buffering.
        packets.drain(40..45);
        let (out, stats) = run(packets, 2_000);
        assert_eq!(stats.packets_lost, 5);
        assert_eq!(stats.concealment_events, 1);
        assert_eq!(stats.fec_samples, 0);
        assert_eq!(stats.concealed_samples, 100 * 48);
        // Skipping what was concealed kept the sine exactly in time.
        let after = &out[ms(1_200)..ms(1_900)];
        let reference = &clean[ms(1_200)..ms(1_900)];
        assert!(db(rms(after) / rms(reference)).abs() < 0.5);
        let correlation: f64 = after
            .iter()
            .zip(reference)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum::<f64>()
            / (rms(after) * rms(reference) * after.len() as f64);
        assert!(correlation > 0.95, "correlation {correlation}");
    }

    #[test]
    fn late_packet_is_discarded_and_rebuilt_from_fec() {
        let mut packets = rtp(&sine_packets(1_000), 0, 0, 5);
        // Packet 20 arrives 80 ms late, after its playout time, when packet
        // 21 is already buffered.
        packets[20].0 += 80;
        let (out, stats) = run(packets, 1_000);
        assert_eq!(stats.packets_discarded, 1);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.fec_samples, 960);
        assert_eq!(stats.concealed_samples, 0);
        assert!(db(rms(&out[ms(300)..ms(900)]) / sine_rms()).abs() < 1.0);
    }

    #[test]
    fn short_freeze_stalls_then_resumes_without_skipping() {
        // Packets 30..33 are held up to 70 ms and arrive together: playout
        // conceals while waiting (the 70 ms less what the target delay
        // covered), then resumes with packet 30 at once, now a little later
        // than before.
        let mut packets = rtp(&sine_packets(2_000), 0, 0, 5);
        for (at, _) in &mut packets[30..33] {
            *at = 695;
        }
        let (out, stats) = run(packets, 2_000);
        assert_eq!(stats.packets_discarded, 0);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.concealment_events, 1);
        assert!(
            stats.concealed_samples <= ms(70 - MIN_MS) as u64,
            "{stats:?}"
        );
        assert!(db(rms(&out[ms(800)..ms(1_900)]) / sine_rms()).abs() < 1.0);
        assert!((frequency(&out[ms(800)..ms(1_900)]) - 440.0).abs() < 2.0);
    }

    #[test]
    fn first_reorder_on_a_clean_stream_is_bridged_by_fec() {
        // Packet 20 arrives 1 ms after packet 21, so 21 ms late, on a stream
        // that never showed any jitter: beyond the minimum target, which no
        // jitter buffer running that low (NetEq included) can wait for.
        // The gap is rebuilt from packet 21's FEC, nothing is concealed, and
        // the estimator learns that this path reorders.
        let packets = rtp(&sine_packets(1_000), 0, 0, 5);
        let (clean, _) = run(packets.clone(), 1_000);
        let mut swapped = packets;
        swapped[20].0 = swapped[21].0 + 1;
        let (out, stats) = run(swapped, 1_000);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.packets_discarded, 1);
        assert_eq!(stats.fec_samples, 960);
        assert_eq!(stats.concealed_samples, 0);
        for k in 10..95 {
            let diff = db(rms(&out[k * 480..(k + 1) * 480]) / rms(&clean[k * 480..(k + 1) * 480]));
            assert!(diff.abs() < 1.0, "chunk {k}: {diff:.2} dB");
        }
        // (The harness hands packets over on the next tick, so it counts
        // as 30 ms late.)
        assert!(stats.target_delay_ms >= 21.0 + 10.0, "{stats:?}");
    }

    #[test]
    fn reordered_pair_plays_without_glitch() {
        // Talkspurts of 600 ms with 400 ms DTX pauses. Once the path has
        // shown reordering (packet 5, bridged by FEC as above), the next
        // talkspurts start with room for it: the same swap there plays
        // exactly as if the packets had come in order.
        let talking = |t: usize| t % 1_000 < 600;
        let frames = encode(3_000, true, talking);
        let packets = rtp(&frames, 0, 0, 5);
        let swap = |packets: &mut Vec<(u64, ReceivedPacket)>, k: usize| {
            packets[k].0 = packets[k + 1].0 + 1;
        };
        let talkspurt = |second: u32| {
            frames
                .iter()
                .position(|(ts, _)| *ts >= 48_000 * second)
                .unwrap()
        };
        let mut once = packets.clone();
        swap(&mut once, 5);
        let (reference, reference_stats) = run(once.clone(), 3_000);
        assert_eq!(reference_stats.fec_samples, 960);
        let mut again = once;
        for second in [1, 2] {
            swap(&mut again, talkspurt(second) + 10);
        }
        let (out, stats) = run(again, 3_000);
        let differs = out.iter().zip(&reference).position(|(a, b)| a != b);
        assert_eq!(differs, None, "{stats:?}\n{reference_stats:?}");
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.packets_discarded, 1);
        assert_eq!(stats.fec_samples, 960);
        assert_eq!(stats.concealed_samples, 0);
    }

    #[test]
    fn clean_stream_with_small_jitter_plays_at_the_minimum_without_concealment() {
        // 10 s with every packet ±3 ms off its time (seeded LCG), for a
        // steady tone and for talkspurts with DTX pauses, at several phases
        // of the packet clock against the playout ticks.
        let tone = encode(10_000, false, |_| true);
        let speech = encode(10_000, true, |t| t % 1_500 < 1_000);
        for (name, frames) in [("tone", &tone), ("speech", &speech)] {
            for latency in [5, 7, 9, 11, 13] {
                let mut packets = rtp(frames, 4_000, 1_000_000, latency);
                let mut state = 0x2545_F491u32 ^ latency as u32;
                for (at, _) in &mut packets {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    *at = *at + u64::from(state >> 16) % 7 - 3;
                }
                let (out, stats) = run(packets, 10_000);
                let case = format!("{name}, {latency} ms: {stats:?}");
                assert_eq!(stats.target_delay_ms, MIN_MS as f64, "{case}");
                assert_eq!(stats.concealed_samples, 0, "{case}");
                assert_eq!(stats.fec_samples, 0, "{case}");
                assert_eq!(stats.packets_discarded, 0, "{case}");
                assert_eq!(stats.packets_lost, 0, "{case}");
                assert_eq!(stats.removed_samples_for_acceleration, 0, "{case}");
                let talk = &out[ms(9_000 + LAG_MS + 20)..ms(9_900)];
                assert!(db(rms(talk) / sine_rms()).abs() < 1.0, "{case}");
            }
        }
    }

    #[test]
    fn duplicates_and_ancient_packets_are_ignored() {
        let packets = rtp(&sine_packets(2_000), 500, 0, 5);
        let (clean, _) = run(packets.clone(), 2_000);
        let mut noisy = packets.clone();
        for (at, packet) in &packets {
            noisy.push((at + 3, packet.clone()));
        }
        // Packet 5 again, a second later: long played.
        noisy.push((1_200, packets[5].1.clone()));
        // A packet from the previous minute.
        let mut ancient = packets[7].1.clone();
        ancient.sequence = ancient.sequence.wrapping_sub(3_000);
        ancient.timestamp = ancient.timestamp.wrapping_sub(48_000 * 60);
        noisy.push((1_300, ancient));
        let (out, stats) = run(noisy, 2_000);
        assert_eq!(out, clean);
        // 99 + 99 arrive within the run, plus the two strays.
        assert_eq!(stats.packets_received, 200);
        assert_eq!(stats.packets_duplicated, 100);
        assert_eq!(stats.packets_discarded, 101);
        assert_eq!(stats.packets_lost, -100);
        assert_eq!(stats.stream_resets, 0);
    }

    #[test]
    fn wraparound_of_sequence_and_timestamp() {
        let frames = sine_packets(1_000);
        let (clean, _) = run(rtp(&frames, 10, 10, 5), 1_000);
        let (out, stats) = run(rtp(&frames, 65_510, u32::MAX - 960 * 20 + 1, 5), 1_000);
        assert_eq!(out, clean);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.packets_discarded, 0);
    }

    #[test]
    fn dtx_gaps_play_silence_at_a_steady_cadence() {
        // 0.5 s of sine, 1.5 s of silence (DTX), 0.5 s of sine.
        let frames = encode(2_500, true, |t| !(500..2_000).contains(&t));
        assert!(frames.len() < 80, "{} packets sent", frames.len());
        // Playout runs LAG_MS behind the packet clock: the run ends with
        // the last packet played.
        let run_ms = 2_500 + LAG_MS;
        let (out, stats) = run(rtp(&frames, 0, 0, 5), run_ms as u64);
        assert_eq!(out.len(), ms(run_ms));
        assert_eq!(stats.packets_lost, 0);
        let silent = &out[ms(800)..ms(2_000)];
        assert!(rms(silent) < 30.0, "silence rms {}", rms(silent));
        let talk = &out[ms(2_150)..ms(2_500)];
        assert!(db(rms(talk) / sine_rms()).abs() < 1.0);
        assert!((frequency(talk) - 440.0).abs() < 5.0);
        // DTX pauses are not concealment.
        assert_eq!(stats.concealed_samples, 0, "{stats:?}");
    }

    #[test]
    fn dtx_gap_with_the_next_packet_buffered_is_silence() {
        // Consecutive sequence numbers around a 100 ms timestamp jump, the
        // packet after the gap already buffered when the gap starts: the gap
        // plays as silence, exactly as long.
        let shifted: Vec<(u32, Bytes)> = sine_packets(400)
            .into_iter()
            .enumerate()
            .map(|(k, (ts, p))| (if k >= 10 { ts + 4_800 } else { ts }, p))
            .collect();
        let mut packets = rtp(&shifted, 0, 0, 5);
        packets[10].0 = packets[9].0;
        // The stream plays from LAG_MS on.
        let (out, stats) = run(packets, (500 + LAG_MS) as u64);
        let gap = &out[ms(LAG_MS + 200)..ms(LAG_MS + 300)];
        assert!(gap.iter().all(|&s| s == 0));
        assert!(db(rms(&out[ms(LAG_MS + 310)..ms(LAG_MS + 400)]) / sine_rms()).abs() < 1.0);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.fec_samples, 0);
        assert_eq!(stats.concealed_samples, 0);
    }

    #[test]
    fn garbage_payloads_do_not_panic() {
        let mut pipeline = AudioDecodePipeline::new(2).unwrap();
        let mut packets = rtp(&sine_packets(1_000), 0, 0, 5);
        let mut state = 0x9E37_79B9u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for k in 0..300u32 {
            let len = (next() % 64) as usize;
            let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let redundancy = (0..next() % 3)
                .map(|_| (next(), Bytes::from(vec![next() as u8; 3])))
                .collect();
            let (sequence, timestamp) = match k % 3 {
                0 => (next() as u16, next()),
                1 => (k as u16, k * 960),
                _ => (k as u16 / 2, next() % 96_000),
            };
            packets.push((
                u64::from(next() % 1_100),
                ReceivedPacket {
                    sequence,
                    timestamp,
                    payload: Bytes::from(payload),
                    redundancy,
                },
            ));
        }
        let out = play(&mut pipeline, packets, 1_200);
        assert_eq!(out.len(), 120 * 960);
        assert_eq!(pipeline.stats().packets_received, 350);
    }

    #[test]
    fn other_packet_durations() {
        for frame_ms in [10usize, 40, 60] {
            let frame = frame_ms * 48;
            let mut encoder = OpusEncoder::new(1, 32_000, false).unwrap();
            let mut buf = [0u8; 1500];
            let mut packets = Vec::new();
            for k in 0..1_500 / frame_ms {
                let pcm: Vec<i16> = (0..frame_ms / 10)
                    .flat_map(|j| {
                        let start = (k * frame_ms / 10 + j) * 480;
                        sine_10ms(start, 48_000, 1, 440.0, SINE_AMPLITUDE)
                    })
                    .collect();
                let n = encoder.encode(&pcm, &mut buf).unwrap();
                let arrival = (k * frame_ms + frame_ms) as u64 + 5;
                packets.push((
                    arrival,
                    ReceivedPacket {
                        sequence: k as u16,
                        timestamp: (k * frame) as u32,
                        payload: Bytes::copy_from_slice(&buf[..n]),
                        redundancy: Vec::new(),
                    },
                ));
            }
            let (out, stats) = run(packets, 1_500);
            let steady = &out[ms(300)..ms(1_300)];
            assert!((frequency(steady) - 440.0).abs() < 2.0, "{frame_ms} ms");
            let level = db(rms(steady) / sine_rms());
            assert!(level.abs() < 1.0, "{frame_ms} ms: {level:.2} dB");
            assert_eq!(stats.packets_lost, 0, "{frame_ms} ms");
            assert_eq!(stats.concealed_samples, 0, "{frame_ms} ms: {stats:?}");
        }
    }

    #[test]
    fn red_redundancy_fills_a_lost_primary() {
        let frames = sine_packets(1_000);
        let mut packets = rtp(&frames, 0, 0, 5);
        let (clean, _) = run(packets.clone(), 1_000);
        for k in 1..packets.len() {
            let previous = (packets[k - 1].1.timestamp, packets[k - 1].1.payload.clone());
            packets[k].1.redundancy.push(previous);
        }
        packets.remove(25);
        let (out, stats) = run(packets, 1_000);
        assert_eq!(out, clean);
        assert_eq!(stats.fec_samples, 0);
        assert_eq!(stats.packets_lost, 1);
    }

    #[test]
    fn new_stream_resyncs() {
        let frames = sine_packets(2_000);
        let mut packets = rtp(&frames[..50], 100, 1_000, 5);
        // The sender restarts with new sequence numbers and timestamps.
        packets.extend(rtp(&frames[50..], 40_000, 3_000_000_000, 5));
        let (out, stats) = run(packets, 2_000);
        assert_eq!(stats.stream_resets, 1);
        let after = &out[ms(1_200)..ms(1_900)];
        assert!(db(rms(after) / sine_rms()).abs() < 1.0);
        assert!((frequency(after) - 440.0).abs() < 2.0);
    }

    #[test]
    fn jitter_raises_the_target_and_playout_survives() {
        let mut packets = rtp(&sine_packets(3_000), 0, 0, 5);
        let mut state = 12_345u32;
        for (at, _) in &mut packets {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *at += u64::from(state >> 16) % 60;
        }
        let (out, stats) = run(packets, 3_000);
        assert!(stats.target_delay_ms > 60.0, "{stats:?}");
        assert!(stats.jitter_ms > 5.0);
        let late = &out[ms(1_500)..ms(2_900)];
        assert!((frequency(late) - 440.0).abs() < 5.0);
        assert!(db(rms(late) / sine_rms()).abs() < 1.5);
    }

    #[test]
    fn excess_delay_is_trimmed_in_pauses() {
        // Speech-like: 400 ms of sine, 200 ms of silence. The network
        // freezes for 300 ms, then delivers everything at once.
        let talking = |t: usize| t % 600 < 400;
        let mut packets = rtp(&encode(10_000, false, talking), 0, 0, 5);
        for (at, _) in &mut packets {
            if (1_000..1_300).contains(at) {
                *at = 1_300;
            }
        }
        let mut pipeline = AudioDecodePipeline::new(1).unwrap();
        let start = Instant::now();
        let mut max_delay: f64 = 0.0;
        let mut packets = packets.into_iter().peekable();
        for tick in 0..1_000u64 {
            let now_ms = tick * 10 + 5;
            let now = start + Duration::from_millis(now_ms);
            while let Some((_, packet)) = packets.next_if(|(at, _)| *at <= now_ms) {
                pipeline.push(packet, now);
            }
            pipeline.pull_10ms(now);
            max_delay = max_delay.max(pipeline.stats().current_delay_ms);
        }
        let stats = pipeline.stats();
        assert!(max_delay > 300.0, "{max_delay}");
        assert!(
            stats.removed_samples_for_acceleration >= 200 * 48,
            "{stats:?}"
        );
        // Back to the minimum target, and the delay trimmed to within the
        // drop threshold (+ the newest packet's 20 ms).
        assert_eq!(stats.target_delay_ms, MIN_MS as f64, "{stats:?}");
        assert!(
            stats.current_delay_ms <= MIN_MS as f64 + 40.0 + 20.0,
            "{stats:?}"
        );
    }

    #[test]
    fn a_surplus_in_continuous_sound_is_cut() {
        // A steady tone whose first 60 ms arrive together 60 ms late (the
        // server flushing what it held while the subscription was set up),
        // then packets every 20 ms: 40 ms more than the target sits in the
        // buffer and continuous sound is never quiet.
        let mut packets = rtp(&encode(10_000, false, |_| true), 0, 0, 5);
        for (at, _) in &mut packets {
            *at = (*at).max(60);
        }
        let mut pipeline = AudioDecodePipeline::new(1).unwrap();
        let start = Instant::now();
        let mut packets = packets.into_iter().peekable();
        let mut delays = Vec::new();
        for tick in 0..300u64 {
            let now_ms = tick * 10 + 5;
            let now = start + Duration::from_millis(now_ms);
            while let Some((_, packet)) = packets.next_if(|(at, _)| *at <= now_ms) {
                pipeline.push(packet, now);
            }
            pipeline.pull_10ms(now);
            if tick >= 250 {
                delays.push(pipeline.stats().current_delay_ms);
            }
        }
        let stats = pipeline.stats();
        assert!(stats.removed_samples_for_acceleration > 0, "{stats:?}");
        let worst = delays.iter().cloned().fold(0.0, f64::max);
        // Target plus the newest packet's 20 ms plus under one tick.
        assert!(
            worst <= MIN_MS as f64 + 20.0 + 10.0,
            "{worst} ms: {stats:?}"
        );
        assert_eq!(stats.concealed_samples, 0, "{stats:?}");
    }
}
