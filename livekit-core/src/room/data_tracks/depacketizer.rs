//! Packets into frames, for one subscribed track.
//!
//! A single-packet frame is delivered as it comes. A longer frame is kept
//! as a partial frame from its start packet until its final packet, then
//! joined if every sequence number in between arrived; otherwise it is
//! dropped. Data-track channels are unordered and unreliable, so packets
//! may arrive out of order (tolerated within a frame) or not at all.
//!
//! Memory is bounded: at most `max_partial_frames` partial frames (the
//! oldest is evicted when a new one starts, and when a single-packet frame
//! arrives while the table is full, since that means the partial one is
//! stale) and at most [`MAX_PACKETS_PER_FRAME`] packets per frame.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use super::packet::{Extensions, Header, Marker};

/// A frame holding more packets than this is dropped.
pub const MAX_PACKETS_PER_FRAME: usize = 128;

/// A reassembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The payload, joined.
    pub payload: Bytes,
    /// The extensions of its first packet.
    pub extensions: Extensions,
}

/// Why a frame was given up, for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// A newer frame needed its slot.
    Evicted(u16),
    /// A middle or final packet of a frame whose start never came.
    UnknownFrame(u16),
    /// Too many packets.
    TooLarge(u16),
    /// The final packet came but some before it did not.
    Incomplete(u16),
}

#[derive(Debug)]
struct Partial {
    frame_number: u16,
    start_sequence: u16,
    extensions: Extensions,
    pieces: BTreeMap<u16, Bytes>,
}

/// Reassembles one track's frames.
#[derive(Debug, Default)]
pub struct Depacketizer {
    /// Oldest first.
    partials: Vec<Partial>,
}

impl Depacketizer {
    /// Take one packet; returns the frame it completes, if any, and the
    /// frame it made us give up, if any.
    pub fn push(
        &mut self,
        header: &Header,
        payload: Bytes,
        max_partial_frames: usize,
    ) -> (Option<Frame>, Option<Dropped>) {
        let max_partial_frames = max_partial_frames.max(1);
        match header.marker {
            Marker::Single => {
                let dropped = self.make_room(max_partial_frames);
                let frame = Frame {
                    payload,
                    extensions: header.extensions,
                };
                (Some(frame), dropped)
            }
            Marker::Start => {
                // A repeated start replaces the partial frame it restarts.
                self.partials
                    .retain(|p| p.frame_number != header.frame_number);
                let dropped = self.make_room(max_partial_frames);
                self.partials.push(Partial {
                    frame_number: header.frame_number,
                    start_sequence: header.sequence,
                    extensions: header.extensions,
                    pieces: BTreeMap::from([(header.sequence, payload)]),
                });
                (None, dropped)
            }
            Marker::Inter | Marker::Final => self.continue_partial(header, payload),
        }
    }

    /// Evict the oldest partial frames until one more fits.
    fn make_room(&mut self, max_partial_frames: usize) -> Option<Dropped> {
        let mut first = None;
        while self.partials.len() >= max_partial_frames {
            let evicted = self.partials.remove(0);
            first.get_or_insert(Dropped::Evicted(evicted.frame_number));
        }
        first
    }

    fn continue_partial(
        &mut self,
        header: &Header,
        payload: Bytes,
    ) -> (Option<Frame>, Option<Dropped>) {
        let frame_number = header.frame_number;
        let Some(index) = self
            .partials
            .iter()
            .position(|p| p.frame_number == frame_number)
        else {
            return (None, Some(Dropped::UnknownFrame(frame_number)));
        };
        let partial = &mut self.partials[index];
        if partial.pieces.len() >= MAX_PACKETS_PER_FRAME {
            self.partials.remove(index);
            return (None, Some(Dropped::TooLarge(frame_number)));
        }
        partial.pieces.insert(header.sequence, payload);
        if header.marker != Marker::Final {
            return (None, None);
        }
        let partial = self.partials.remove(index);
        match join(partial, header.sequence) {
            Some(frame) => (Some(frame), None),
            None => (None, Some(Dropped::Incomplete(frame_number))),
        }
    }
}

/// The frame's payload from its start to its final sequence number, if
/// none is missing.
fn join(mut partial: Partial, end: u16) -> Option<Frame> {
    let count = usize::from(end.wrapping_sub(partial.start_sequence)) + 1;
    if count != partial.pieces.len() {
        return None;
    }
    let size = partial.pieces.values().map(Bytes::len).sum();
    let mut payload = BytesMut::with_capacity(size);
    let mut sequence = partial.start_sequence;
    for _ in 0..count {
        payload.extend_from_slice(&partial.pieces.remove(&sequence)?);
        sequence = sequence.wrapping_add(1);
    }
    Some(Frame {
        payload: payload.freeze(),
        extensions: partial.extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::data_tracks::packet::parse;
    use crate::room::data_tracks::packetizer::Packetizer;

    fn packets(p: &mut Packetizer, payload: &[u8], ts: Option<u64>) -> Vec<(Header, Bytes)> {
        p.packetize(payload, ts)
            .unwrap()
            .iter()
            .map(|b| parse(b).unwrap())
            .collect()
    }

    fn feed(d: &mut Depacketizer, pieces: &[(Header, Bytes)], max: usize) -> Vec<Frame> {
        pieces
            .iter()
            .filter_map(|(h, b)| d.push(h, b.clone(), max).0)
            .collect()
    }

    #[test]
    fn frames_round_trip_through_the_packetizer() {
        let mut p = Packetizer::new(3, 64);
        let mut d = Depacketizer::default();
        for size in [0usize, 1, 39, 40, 41, 500, 3000] {
            let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
            let got = feed(&mut d, &packets(&mut p, &payload, Some(size as u64)), 1);
            assert_eq!(got.len(), 1, "size {size}");
            assert_eq!(got[0].payload.as_ref(), payload.as_slice());
            assert_eq!(got[0].extensions.user_timestamp, Some(size as u64));
        }
    }

    #[test]
    fn packets_out_of_order_within_a_frame_are_reordered() {
        let mut p = Packetizer::new(3, 40);
        let payload: Vec<u8> = (0..100u8).collect();
        let mut pieces = packets(&mut p, &payload, None);
        assert!(pieces.len() >= 4);
        let last = pieces.pop().unwrap();
        let start = pieces.remove(0);
        pieces.reverse();
        let mut d = Depacketizer::default();
        let mut order = vec![start];
        order.extend(pieces);
        order.push(last);
        let got = feed(&mut d, &order, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.as_ref(), payload.as_slice());
    }

    #[test]
    fn a_missing_packet_drops_the_frame_and_the_next_one_still_arrives() {
        let mut p = Packetizer::new(3, 40);
        let mut d = Depacketizer::default();
        let mut first = packets(&mut p, &[1; 100], None);
        first.remove(1);
        assert!(feed(&mut d, &first, 1).is_empty());
        let second = packets(&mut p, &[2; 100], None);
        let got = feed(&mut d, &second, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.as_ref(), [2; 100]);
    }

    #[test]
    fn missing_start_means_unknown_frame() {
        let mut p = Packetizer::new(3, 40);
        let mut d = Depacketizer::default();
        let pieces = packets(&mut p, &[1; 100], None);
        let (frame, dropped) = d.push(&pieces[1].0, pieces[1].1.clone(), 1);
        assert!(frame.is_none());
        assert_eq!(dropped, Some(Dropped::UnknownFrame(0)));
    }

    #[test]
    fn interleaved_frames_need_more_partial_slots() {
        let mut p = Packetizer::new(3, 40);
        // 28 payload bytes a packet: two packets each.
        let a = packets(&mut p, &[1; 50], None);
        let b = packets(&mut p, &[2; 50], None);
        assert_eq!((a.len(), b.len()), (2, 2));
        let interleaved = [a[0].clone(), b[0].clone(), a[1].clone(), b[1].clone()];
        // One slot: b's start evicts a.
        let mut d = Depacketizer::default();
        let got = feed(&mut d, &interleaved, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.as_ref(), [2; 50]);
        // Two slots: both complete.
        let mut d = Depacketizer::default();
        let got = feed(&mut d, &interleaved, 2);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn single_packet_frame_evicts_a_stale_partial_when_full() {
        let mut p = Packetizer::new(3, 40);
        let a = packets(&mut p, &[1; 50], None);
        let single = packets(&mut p, &[9], None);
        let mut d = Depacketizer::default();
        assert_eq!(d.push(&a[0].0, a[0].1.clone(), 1), (None, None));
        let (frame, dropped) = d.push(&single[0].0, single[0].1.clone(), 1);
        assert_eq!(frame.unwrap().payload.as_ref(), [9]);
        assert_eq!(dropped, Some(Dropped::Evicted(0)));
        assert_eq!(
            d.push(&a[1].0, a[1].1.clone(), 1).1,
            Some(Dropped::UnknownFrame(0))
        );
    }

    #[test]
    fn frames_over_the_packet_limit_are_dropped() {
        // A 12-byte header leaves two payload bytes per packet.
        let mut p = Packetizer::new(3, 14);
        let payload = vec![5u8; (MAX_PACKETS_PER_FRAME + 10) * 2];
        let pieces = packets(&mut p, &payload, None);
        assert_eq!(pieces.len(), MAX_PACKETS_PER_FRAME + 10);
        let mut d = Depacketizer::default();
        let mut dropped = Vec::new();
        for (h, b) in &pieces {
            let (frame, drop) = d.push(h, b.clone(), 1);
            assert!(frame.is_none());
            dropped.extend(drop);
        }
        assert_eq!(dropped[0], Dropped::TooLarge(0));
    }

    #[test]
    fn final_before_start_sequence_is_incomplete_not_a_long_walk() {
        let mut d = Depacketizer::default();
        let start = Header {
            marker: Marker::Start,
            handle: 1,
            sequence: 10,
            frame_number: 4,
            timestamp: 0,
            extensions: Extensions::default(),
        };
        let fin = Header {
            marker: Marker::Final,
            sequence: 5,
            ..start
        };
        d.push(&start, Bytes::from_static(b"a"), 1);
        let (frame, dropped) = d.push(&fin, Bytes::from_static(b"b"), 1);
        assert!(frame.is_none());
        assert_eq!(dropped, Some(Dropped::Incomplete(4)));
    }
}
