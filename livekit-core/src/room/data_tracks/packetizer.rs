//! Frames into packets: split a payload into MTU-sized pieces, number them
//! and stamp them with the track's clock.

use std::time::Instant;

use bytes::Bytes;

use super::packet::{self, Extensions, Header, Marker};

/// Largest packet the sender writes. The official library uses the same
/// bound, well under the 64 KB data-channel message limit.
pub const MTU: usize = 16_000;

/// The RTP-style clock rate of packet timestamps.
const CLOCK_RATE: u64 = 90_000;

/// Numbers and times the packets of one published track.
#[derive(Debug)]
pub struct Packetizer {
    handle: u16,
    mtu: usize,
    sequence: u16,
    frame_number: u16,
    /// Random starting point of the timestamps, so they reveal nothing
    /// about when the track started.
    base: u32,
    epoch: Instant,
}

impl Packetizer {
    /// A packetizer for the track with publisher handle `handle`.
    pub fn new(handle: u16, mtu: usize) -> Self {
        Self {
            handle,
            mtu,
            sequence: 0,
            frame_number: 0,
            base: random_u32(),
            epoch: Instant::now(),
        }
    }

    /// Split one frame into its packets, encoded. An empty payload is one
    /// packet with no payload, so an empty frame still arrives as a frame.
    /// `None` when the MTU cannot hold the header and one byte.
    pub fn packetize(&mut self, payload: &[u8], user_timestamp: Option<u64>) -> Option<Vec<Bytes>> {
        let ticks =
            (self.epoch.elapsed().as_micros() as u64).saturating_mul(CLOCK_RATE) / 1_000_000;
        let mut header = Header {
            marker: Marker::Single,
            handle: self.handle,
            sequence: 0,
            frame_number: self.frame_number,
            // The 32-bit timestamp wraps by design, as RTP's does.
            timestamp: self.base.wrapping_add(ticks as u32),
            extensions: Extensions {
                user_timestamp,
                e2ee: None,
            },
        };
        let room = self.mtu.checked_sub(header.len()).filter(|&n| n > 0)?;
        self.frame_number = self.frame_number.wrapping_add(1);
        let count = payload.len().div_ceil(room).max(1);
        let mut packets = Vec::with_capacity(count);
        let mut pieces = payload.chunks(room);
        for index in 0..count {
            header.marker = match (count, index) {
                (1, _) => Marker::Single,
                (_, 0) => Marker::Start,
                (_, i) if i + 1 == count => Marker::Final,
                _ => Marker::Inter,
            };
            header.sequence = self.sequence;
            self.sequence = self.sequence.wrapping_add(1);
            packets.push(packet::encode(&header, pieces.next().unwrap_or_default()));
        }
        Some(packets)
    }
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    // Any input: the randomness is in the hasher's per-process keys.
    hasher.write_u64(0x0064_6174_6174_726b);
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::data_tracks::packet::parse;

    #[test]
    fn small_frame_is_one_packet_with_its_timestamp() {
        let mut p = Packetizer::new(5, MTU);
        let packets = p.packetize(&[1, 2, 3], Some(42)).unwrap();
        assert_eq!(packets.len(), 1);
        let (h, payload) = parse(&packets[0]).unwrap();
        assert_eq!(h.marker, Marker::Single);
        assert_eq!(h.handle, 5);
        assert_eq!(h.frame_number, 0);
        assert_eq!(h.extensions.user_timestamp, Some(42));
        assert_eq!(payload.as_ref(), [1, 2, 3]);
    }

    #[test]
    fn empty_frame_is_one_empty_packet() {
        let mut p = Packetizer::new(5, MTU);
        let packets = p.packetize(&[], None).unwrap();
        assert_eq!(packets.len(), 1);
        let (h, payload) = parse(&packets[0]).unwrap();
        assert_eq!(h.marker, Marker::Single);
        assert!(payload.is_empty());
    }

    #[test]
    fn large_frame_splits_at_the_mtu_with_consecutive_sequences() {
        let mut p = Packetizer::new(9, 100);
        let payload: Vec<u8> = (0..250u32).map(|i| i as u8).collect();
        let first = p.packetize(b"x", None).unwrap();
        assert_eq!(first.len(), 1);
        let packets = p.packetize(&payload, Some(1)).unwrap();
        // Header with the timestamp: 24 bytes, so 76 payload bytes a packet.
        assert_eq!(packets.len(), 4);
        let mut joined = Vec::new();
        for (i, bytes) in packets.iter().enumerate() {
            assert!(bytes.len() <= 100);
            let (h, piece) = parse(bytes).unwrap();
            assert_eq!(h.frame_number, 1);
            assert_eq!(h.sequence, 1 + i as u16);
            let expected = match i {
                0 => Marker::Start,
                3 => Marker::Final,
                _ => Marker::Inter,
            };
            assert_eq!(h.marker, expected);
            joined.extend_from_slice(&piece);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn counters_wrap() {
        let mut p = Packetizer::new(1, MTU);
        p.sequence = u16::MAX;
        p.frame_number = u16::MAX;
        let a = p.packetize(b"a", None).unwrap();
        let b = p.packetize(b"b", None).unwrap();
        let (ha, _) = parse(&a[0]).unwrap();
        let (hb, _) = parse(&b[0]).unwrap();
        assert_eq!((ha.sequence, ha.frame_number), (u16::MAX, u16::MAX));
        assert_eq!((hb.sequence, hb.frame_number), (0, 0));
    }

    #[test]
    fn mtu_too_small_for_the_header_is_refused() {
        let mut p = Packetizer::new(1, 12);
        assert!(p.packetize(b"a", None).is_none());
        assert!(p.packetize(b"a", Some(1)).is_none());
    }
}
