//! The jitter buffer's two halves: the store of packets waiting for playout,
//! ordered by RTP timestamp, and the estimator that turns packet arrival
//! times into a target playout delay and the RFC 3550 jitter figure.
//!
//! Both work on unwrapped 48 kHz timestamps (`i64`, see `unwrap`), so
//! wraparound never reaches them. The playout policy built on them lives in
//! [`super::decode`].

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

/// Samples per millisecond of the 48 kHz RTP clock.
pub const SAMPLES_PER_MS: i64 = 48;

/// Most packets held at once. 64 packets of 20 ms are 1.3 s, far beyond the
/// largest target delay; past that, new packets are refused rather than
/// letting a flooding peer grow memory.
pub const MAX_PACKETS: usize = 64;

/// Smallest target delay. Playout starts on the first 10 ms tick at least
/// this long after the packet that (re)starts it arrived, so on a clean
/// network every packet has 20..30 ms (25 on average) to arrive after its
/// expected time: far more than ordinary scheduling jitter on both ends
/// (a few ms), and the same end-to-end delay as libwebrtc's NetEq. Jitter
/// beyond that raises the target (95th percentile + [`TICK_MARGIN`]), and so
/// does reordering (see [`DelayEstimator`]).
pub const MIN_TARGET_MS: i64 = 20;

/// Largest target delay: beyond this, conversation suffers more from the
/// delay than from the occasional late packet.
pub const MAX_TARGET_MS: i64 = 200;

/// Packets whose arrival times feed the target delay (about 2 s of 20 ms
/// packets): long enough for a stable 95th percentile, short enough to
/// follow a network that changes.
const WINDOW: usize = 100;

/// Margin added to the measured jitter: playout runs on a 10 ms tick, so a
/// packet can be needed up to one tick before the delay says.
const TICK_MARGIN: i64 = 10 * SAMPLES_PER_MS;

/// How fast the target falls once the jitter has left the window, per
/// packet (at 50 packets a second, 50 ms per second): slower than it rises,
/// so a burst of jitter that comes and goes is not chased back and forth.
const SHRINK_PER_PACKET: i64 = SAMPLES_PER_MS;

/// Packets for which an observed reordering keeps the target up (about 2 s
/// of 20 ms packets, like [`WINDOW`]): a network that reorders once (several
/// paths, a wifi retransmission) does it again, and a single reordered
/// packet would never reach the 95th percentile.
const REORDER_HOLD: usize = WINDOW;

/// One packet waiting in the buffer.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Unwrapped RTP sequence number (derived for RED blocks).
    pub seq: i64,
    /// Unwrapped RTP timestamp of the first sample.
    pub ts: i64,
    /// Duration in samples per channel at 48 kHz, from the Opus TOC.
    pub samples: i64,
    /// The Opus packet.
    pub payload: Bytes,
    /// When it arrived, for the jitter buffer delay statistic.
    pub arrival: Instant,
    /// Whether it was rebuilt from another packet's RED redundancy rather
    /// than received as a primary payload.
    pub redundant: bool,
}

impl Slot {
    /// Timestamp just past the packet's last sample.
    pub fn end(&self) -> i64 {
        self.ts + self.samples
    }
}

/// What became of a packet offered to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored.
    Added,
    /// A packet with the same timestamp or sequence number is already
    /// stored.
    Duplicate,
    /// The buffer is full.
    Full,
}

/// Packets waiting for playout, ordered by timestamp. Tiny (a handful of
/// packets at normal delays), so a sorted deque beats any tree, and its
/// capacity is reserved once.
#[derive(Debug)]
pub struct PacketBuffer {
    slots: VecDeque<Slot>,
}

impl Default for PacketBuffer {
    fn default() -> Self {
        Self {
            slots: VecDeque::with_capacity(MAX_PACKETS),
        }
    }
}

impl PacketBuffer {
    /// Stores `slot` in timestamp order.
    pub fn insert(&mut self, slot: Slot) -> Insert {
        if self
            .slots
            .iter()
            .any(|s| s.ts == slot.ts || s.seq == slot.seq)
        {
            return Insert::Duplicate;
        }
        if self.slots.len() >= MAX_PACKETS {
            return Insert::Full;
        }
        let at = self.slots.partition_point(|s| s.ts < slot.ts);
        self.slots.insert(at, slot);
        Insert::Added
    }

    /// Whether a packet with this timestamp is stored.
    pub fn contains_ts(&self, ts: i64) -> bool {
        self.slots.iter().any(|s| s.ts == ts)
    }

    /// The packet that plays first.
    pub fn front(&self) -> Option<&Slot> {
        self.slots.front()
    }

    /// Takes the packet that plays first.
    pub fn pop_front(&mut self) -> Option<Slot> {
        self.slots.pop_front()
    }

    /// Timestamp of the packet that plays last.
    pub fn newest_ts(&self) -> Option<i64> {
        self.slots.back().map(|s| s.ts)
    }

    /// Timestamp just past all buffered audio.
    pub fn end(&self) -> Option<i64> {
        self.slots.iter().map(Slot::end).max()
    }

    /// Removes every packet that ends at or before `play_ts` (too late to
    /// play); returns how many of them were primary packets.
    pub fn drop_late(&mut self, play_ts: i64) -> u64 {
        let mut primaries = 0;
        while let Some(front) = self.slots.front() {
            if front.end() > play_ts {
                break;
            }
            if !front.redundant {
                primaries += 1;
            }
            self.slots.pop_front();
        }
        primaries
    }

    /// Number of packets stored.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no packet is stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Drops everything, e.g. for a new stream.
    pub fn clear(&mut self) {
        self.slots.clear();
    }
}

/// Measures how irregularly packets arrive and derives the playout delay
/// that would have covered 95% of them.
///
/// For each packet, the *relative transit* is its arrival time minus its
/// RTP timestamp (both in 48 kHz samples): constant on a perfect network,
/// larger for every packet that comes late. A packet is late by its transit
/// minus the smallest transit in the window, so a delay of the 95th
/// percentile of that (plus one playout tick) would have caught 95% of the
/// window in time. The target rises at once and falls slowly, between
/// [`MIN_TARGET_MS`] and [`MAX_TARGET_MS`].
///
/// A packet that arrives after a newer one (reordered) is late by at least
/// a packet's duration, more than the minimum target covers on a clean
/// network. Unlike an isolated late packet, which the percentile ignores (a
/// stall absorbs it), reordering is a property of the path and comes back:
/// the lateness of a reordered packet (+ [`TICK_MARGIN`]) holds the target
/// up for the next [`REORDER_HOLD`] packets, so the next (re)start of
/// playout, a talkspurt after a DTX pause, has room for it.
#[derive(Debug)]
pub struct DelayEstimator {
    epoch: Option<Instant>,
    transits: [i64; WINDOW],
    sorted: [i64; WINDOW],
    count: usize,
    next: usize,
    target: i64,
    /// RFC 3550 interarrival jitter, in samples, scaled by 16 for integer
    /// smoothing.
    jitter_q4: i64,
    last_transit: Option<i64>,
    /// Newest timestamp seen in this stream, to recognise reordering.
    newest_ts: Option<i64>,
    /// Lower bound on the target set by the last reordered packet, and the
    /// packets it still holds.
    reorder_floor: i64,
    reorder_left: usize,
}

impl Default for DelayEstimator {
    fn default() -> Self {
        Self {
            epoch: None,
            transits: [0; WINDOW],
            sorted: [0; WINDOW],
            count: 0,
            next: 0,
            target: MIN_TARGET_MS * SAMPLES_PER_MS,
            jitter_q4: 0,
            last_transit: None,
            newest_ts: None,
            reorder_floor: 0,
            reorder_left: 0,
        }
    }
}

impl DelayEstimator {
    /// `now` on the 48 kHz clock, counted from the first time seen.
    pub fn clock(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch);
        (elapsed.as_micros() as i64).saturating_mul(SAMPLES_PER_MS) / 1000
    }

    /// Records a packet with unwrapped timestamp `ts` arriving at `now`.
    pub fn on_packet(&mut self, now: Instant, ts: i64) {
        let transit = self.clock(now).saturating_sub(ts);
        if let Some(last) = self.last_transit {
            // RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16.
            let d = transit
                .saturating_sub(last)
                .saturating_abs()
                .min(i64::from(u32::MAX));
            self.jitter_q4 += d - (self.jitter_q4 + 8) / 16;
        }
        self.last_transit = Some(transit);

        self.transits[self.next] = transit;
        self.next = (self.next + 1) % WINDOW;
        self.count = (self.count + 1).min(WINDOW);
        let sorted = &mut self.sorted[..self.count];
        sorted.copy_from_slice(&self.transits[..self.count]);
        sorted.sort_unstable();
        let p95 = sorted[(self.count - 1) * 95 / 100];
        let min = sorted[0];

        if self.newest_ts.is_some_and(|newest| ts < newest) {
            self.reorder_floor = self
                .reorder_floor
                .max(transit.saturating_sub(min).saturating_add(TICK_MARGIN));
            self.reorder_left = REORDER_HOLD;
        } else if self.reorder_left > 0 {
            self.reorder_left -= 1;
            if self.reorder_left == 0 {
                self.reorder_floor = 0;
            }
        }
        self.newest_ts = Some(self.newest_ts.map_or(ts, |newest| newest.max(ts)));

        let wanted = (p95.saturating_sub(min) + TICK_MARGIN)
            .max(self.reorder_floor)
            .clamp(
                MIN_TARGET_MS * SAMPLES_PER_MS,
                MAX_TARGET_MS * SAMPLES_PER_MS,
            );
        self.target = if wanted >= self.target {
            wanted
        } else {
            (self.target - SHRINK_PER_PACKET).max(wanted)
        };
    }

    /// Forgets the transits of the old stream (its timestamps mean nothing
    /// for the new one); the target delay, jitter and reordering floor carry
    /// over, as the network did not change.
    pub fn new_stream(&mut self) {
        self.count = 0;
        self.next = 0;
        self.last_transit = None;
        self.newest_ts = None;
    }

    /// The playout delay to aim for, in samples.
    pub fn target(&self) -> i64 {
        self.target
    }

    /// RFC 3550 interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_q4 as f64 / 16.0 / SAMPLES_PER_MS as f64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn slot(seq: i64, ts: i64, at: Instant) -> Slot {
        Slot {
            seq,
            ts,
            samples: 960,
            payload: Bytes::from_static(&[0]),
            arrival: at,
            redundant: false,
        }
    }

    #[test]
    fn buffer_orders_and_rejects_duplicates() {
        let now = Instant::now();
        let mut buffer = PacketBuffer::default();
        assert_eq!(buffer.insert(slot(2, 1920, now)), Insert::Added);
        assert_eq!(buffer.insert(slot(0, 0, now)), Insert::Added);
        assert_eq!(buffer.insert(slot(1, 960, now)), Insert::Added);
        assert_eq!(buffer.insert(slot(1, 960, now)), Insert::Duplicate);
        assert_eq!(buffer.front().unwrap().ts, 0);
        assert_eq!(buffer.newest_ts(), Some(1920));
        assert_eq!(buffer.end(), Some(2880));
        assert_eq!(buffer.drop_late(960), 1);
        assert_eq!(buffer.len(), 2);
        assert!(buffer.contains_ts(960));
        for k in 3..(MAX_PACKETS as i64 + 1) {
            assert_eq!(buffer.insert(slot(k, k * 960, now)), Insert::Added);
        }
        assert_eq!(buffer.insert(slot(999, 999 * 960, now)), Insert::Full);
    }

    #[test]
    fn steady_arrivals_keep_the_minimum_target() {
        let start = Instant::now();
        let mut estimator = DelayEstimator::default();
        for k in 0..200 {
            estimator.on_packet(start + Duration::from_millis(20 * k), 960 * k as i64);
        }
        assert_eq!(estimator.target(), MIN_TARGET_MS * SAMPLES_PER_MS);
        assert!(estimator.jitter_ms() < 0.1);
    }

    #[test]
    fn jitter_raises_the_target_quickly_and_lowers_it_slowly() {
        let start = Instant::now();
        let mut estimator = DelayEstimator::default();
        // Every 4th packet 80 ms late.
        for k in 0..100u64 {
            let late = if k % 4 == 0 { 80 } else { 0 };
            estimator.on_packet(start + Duration::from_millis(20 * k + late), 960 * k as i64);
        }
        let high = estimator.target();
        assert!(
            (85..=95).contains(&(high / SAMPLES_PER_MS)),
            "target {} ms",
            high / SAMPLES_PER_MS
        );
        assert!(estimator.jitter_ms() > 10.0);
        // Calm again: one packet later the target has barely moved.
        estimator.on_packet(start + Duration::from_millis(2000), 960 * 100);
        assert!(estimator.target() >= high - SAMPLES_PER_MS);
        for k in 101..400u64 {
            estimator.on_packet(start + Duration::from_millis(20 * k), 960 * k as i64);
        }
        assert_eq!(estimator.target(), MIN_TARGET_MS * SAMPLES_PER_MS);
        // A wild arrival time cannot overflow anything.
        estimator.on_packet(start + Duration::from_secs(1 << 40), i64::MIN / 2);
        assert!(estimator.target() <= MAX_TARGET_MS * SAMPLES_PER_MS);
    }

    #[test]
    fn reordering_holds_the_target_up() {
        let start = Instant::now();
        let mut estimator = DelayEstimator::default();
        let at = |k: u64| start + Duration::from_millis(20 * k);
        for k in 0..20u64 {
            estimator.on_packet(at(k), 960 * k as i64);
        }
        assert_eq!(estimator.target(), MIN_TARGET_MS * SAMPLES_PER_MS);
        // Packet 20 arrives 1 ms after packet 21: 21 ms late.
        estimator.on_packet(at(21), 960 * 21);
        estimator.on_packet(at(21) + Duration::from_millis(1), 960 * 20);
        let raised = estimator.target() / SAMPLES_PER_MS;
        assert_eq!(raised, 21 + TICK_MARGIN / SAMPLES_PER_MS);
        // Held while the window remembers it, although the 95th percentile
        // never saw it...
        for k in 22..(21 + REORDER_HOLD as u64) {
            estimator.on_packet(at(k), 960 * k as i64);
            assert_eq!(estimator.target() / SAMPLES_PER_MS, raised, "packet {k}");
        }
        // ...then falls back to the minimum.
        for k in (21 + REORDER_HOLD as u64)..(40 + REORDER_HOLD as u64) {
            estimator.on_packet(at(k), 960 * k as i64);
        }
        assert_eq!(estimator.target(), MIN_TARGET_MS * SAMPLES_PER_MS);
    }
}
