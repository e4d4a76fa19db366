//! RED (RFC 2198) audio redundancy: packing an Opus payload with copies of
//! the packets before it, and unpacking what arrives.
//!
//! libwebrtc and LiveKit negotiate `audio/red` with `111/111` (Opus carried
//! in Opus), and send each packet with the previous one as redundancy, so
//! that one lost packet costs nothing. The receiver hands the redundant
//! blocks on with their absolute timestamps; recovering a lost packet from
//! them is the jitter buffer's business, not the transport's.
//!
//! Everything read from the network is checked: a malformed packet yields
//! `None`, never a panic.

use bytes::{BufMut, Bytes, BytesMut};

/// Largest timestamp offset a redundant block header can carry (14 bits).
const MAX_OFFSET: u32 = (1 << 14) - 1;

/// Largest redundant block length a header can carry (10 bits).
const MAX_BLOCK_LEN: usize = (1 << 10) - 1;

/// A RED payload taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// The primary block: the packet's own payload.
    pub primary: Bytes,
    /// The redundant blocks with their absolute RTP timestamps, oldest first
    /// (the order RFC 2198 puts them in).
    pub redundancy: Vec<(u32, Bytes)>,
}

/// Pack `primary` (taken at `timestamp`) with the earlier payloads in
/// `previous` (oldest first, with their timestamps), every block carrying
/// payload type `block_pt`.
///
/// A previous payload that a block header cannot describe (older than the
/// 14-bit offset reaches, not older than `timestamp`, empty, or longer than
/// the 10-bit length) is left out rather than failing the packet.
pub(crate) fn pack(
    block_pt: u8,
    timestamp: u32,
    primary: &[u8],
    previous: &[(u32, Bytes)],
) -> Bytes {
    let pt = block_pt & 0x7f;
    let usable: Vec<(u32, &Bytes)> = previous
        .iter()
        .filter_map(|(ts, payload)| {
            let offset = timestamp.wrapping_sub(*ts);
            let fits = (1..=MAX_OFFSET).contains(&offset)
                && !payload.is_empty()
                && payload.len() <= MAX_BLOCK_LEN;
            fits.then_some((offset, payload))
        })
        .collect();
    let size = usable.iter().map(|(_, p)| 4 + p.len()).sum::<usize>() + 1 + primary.len();
    let mut out = BytesMut::with_capacity(size);
    for (offset, payload) in &usable {
        // F=1 | PT (7) | timestamp offset (14) | block length (10).
        // The length fits 10 bits: checked above.
        let header = (1u32 << 31) | (u32::from(pt) << 24) | (offset << 10) | payload.len() as u32;
        out.put_u32(header);
    }
    out.put_u8(pt);
    for (_, payload) in &usable {
        out.put_slice(payload);
    }
    out.put_slice(primary);
    out.freeze()
}

/// Take a RED payload received at `timestamp` apart. `None` if it is
/// malformed: headers running past the end, or block lengths that add up
/// to more than the payload holds.
pub(crate) fn unpack(payload: &Bytes, timestamp: u32) -> Option<Unpacked> {
    let mut pos = 0;
    // (offset, length) of each redundant block, in order.
    let mut blocks = Vec::new();
    loop {
        let first = *payload.get(pos)?;
        if first & 0x80 == 0 {
            pos += 1;
            break;
        }
        let header = payload.get(pos..pos + 4)?;
        let word = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let offset = (word >> 10) & MAX_OFFSET;
        let len = (word & MAX_BLOCK_LEN as u32) as usize;
        blocks.push((offset, len));
        pos += 4;
    }
    let mut redundancy = Vec::with_capacity(blocks.len());
    for (offset, len) in blocks {
        let end = pos.checked_add(len)?;
        if end > payload.len() {
            return None;
        }
        redundancy.push((timestamp.wrapping_sub(offset), payload.slice(pos..end)));
        pos = end;
    }
    Some(Unpacked {
        primary: payload.slice(pos..),
        redundancy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    #[test]
    fn packs_rfc_2198_layout() {
        let packed = pack(111, 1960, &[9, 9, 9], &[(1000, b(&[1, 2]))]);
        // F=1, PT 111, offset 960, length 2.
        let header = (1u32 << 31) | (111 << 24) | (960 << 10) | 2;
        let mut expected = header.to_be_bytes().to_vec();
        expected.extend_from_slice(&[111, 1, 2, 9, 9, 9]);
        assert_eq!(packed.as_ref(), expected.as_slice());
    }

    #[test]
    fn round_trips_primary_and_redundancy() {
        let previous = [(40_000, b(&[1; 50])), (40_960, b(&[2; 60]))];
        let packed = pack(111, 41_920, &[3; 70], &previous);
        let unpacked = unpack(&packed, 41_920).expect("well formed");
        assert_eq!(unpacked.primary, b(&[3; 70]));
        assert_eq!(unpacked.redundancy, previous.to_vec());
    }

    #[test]
    fn round_trips_across_timestamp_wrap() {
        let previous = [(u32::MAX - 100, b(&[7; 10]))];
        let packed = pack(111, 859, &[8; 10], &previous);
        let unpacked = unpack(&packed, 859).expect("well formed");
        assert_eq!(unpacked.redundancy, previous.to_vec());
    }

    #[test]
    fn skips_redundancy_that_does_not_fit() {
        let previous = [
            // Too old for 14 bits.
            (0, b(&[1; 10])),
            // Too long for 10 bits.
            (20_000, b(&[2; 1024])),
            // Same timestamp: no offset to describe it.
            (20_960, b(&[3; 10])),
            // Empty.
            (20_000, Bytes::new()),
        ];
        let packed = pack(111, 20_960, &[4; 5], &previous);
        assert_eq!(packed.as_ref(), &[111, 4, 4, 4, 4, 4]);
        let unpacked = unpack(&packed, 20_960).expect("well formed");
        assert_eq!(unpacked.primary, b(&[4; 5]));
        assert!(unpacked.redundancy.is_empty());
    }

    #[test]
    fn primary_only_packet() {
        let unpacked = unpack(&b(&[111]), 5).expect("well formed");
        assert!(unpacked.primary.is_empty());
        assert!(unpacked.redundancy.is_empty());
    }

    #[test]
    fn malformed_input_is_none() {
        // Empty.
        assert_eq!(unpack(&Bytes::new(), 0), None);
        // A redundant header cut short.
        assert_eq!(unpack(&b(&[0x80 | 111, 0, 0]), 0), None);
        // Redundant headers and no primary header.
        assert_eq!(unpack(&b(&[0x80 | 111, 0, 4, 0]), 0), None);
        // A block longer than what follows.
        let header = (1u32 << 31) | (111 << 24) | (960 << 10) | 100;
        let mut data = header.to_be_bytes().to_vec();
        data.extend_from_slice(&[111, 1, 2, 3]);
        assert_eq!(unpack(&b(&data), 960), None);
        // A sweep of short inputs, for panics.
        for a in 0..=255u8 {
            for c in [0u8, 1, 0x80, 0xff] {
                let _ = unpack(&b(&[a, c, a]), 0);
                let _ = unpack(&b(&[a, c]), 0);
            }
        }
    }
}
