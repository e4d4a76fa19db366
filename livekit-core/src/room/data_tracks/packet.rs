//! The data-track packet, version 0: what travels on the `_data_track`
//! channels, one packet per data-channel message.
//!
//! ```text
//!  byte 0     V V V S F X 0 0   version (3 bits), start, final, extensions
//!  byte 1     0 0 0 0 0 0 0 0   reserved
//!  bytes 2-3  track handle      (the publisher's, rewritten per subscriber)
//!  bytes 4-5  sequence number   (per packet)
//!  bytes 6-7  frame number      (per frame)
//!  bytes 8-11 timestamp         (90 kHz)
//!  if X:  u16 L, then 4·(L+1) − 2 bytes of extensions and zero padding,
//!         each extension an id byte, a length byte and that many bytes
//!  payload
//! ```
//!
//! All integers are big-endian. The SFU reads the header of every packet
//! to route it and rewrites the handle, so the layout must match the
//! server's bit for bit; the unit tests pin it with hand-made bytes.

use bytes::Bytes;

/// Length of the fixed header.
pub const BASE_HEADER_LEN: usize = 12;

/// The only version this library writes and reads.
const VERSION: u8 = 0;

const VERSION_SHIFT: u8 = 5;
const START_BIT: u8 = 1 << 4;
const FINAL_BIT: u8 = 1 << 3;
const EXTENSION_BIT: u8 = 1 << 2;

/// Extension id of the end-to-end-encryption parameters.
const EXT_E2EE: u8 = 1;
/// Bytes of the E2EE extension: a key index and a 12-byte IV.
const EXT_E2EE_LEN: usize = 13;
/// Extension id of the application's timestamp.
const EXT_USER_TIMESTAMP: u8 = 2;
/// Bytes of the user-timestamp extension: a u64.
const EXT_USER_TIMESTAMP_LEN: usize = 8;
/// An extension id of 0 starts the padding that ends the block.
const EXT_PADDING: u8 = 0;

/// Where a packet sits in its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Neither first nor last.
    Inter,
    /// The first of several.
    Start,
    /// The last of several.
    Final,
    /// The whole frame.
    Single,
}

impl Marker {
    fn bits(self) -> u8 {
        match self {
            Marker::Inter => 0,
            Marker::Start => START_BIT,
            Marker::Final => FINAL_BIT,
            Marker::Single => START_BIT | FINAL_BIT,
        }
    }

    fn from_bits(byte: u8) -> Self {
        match (byte & START_BIT != 0, byte & FINAL_BIT != 0) {
            (false, false) => Marker::Inter,
            (true, false) => Marker::Start,
            (false, true) => Marker::Final,
            (true, true) => Marker::Single,
        }
    }
}

/// End-to-end-encryption parameters of a packet's payload.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct E2ee {
    /// Index into the sender's key ring.
    pub key_index: u8,
    /// AES-GCM initialisation vector.
    pub iv: [u8; 12],
}

impl std::fmt::Debug for E2ee {
    // Key material stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("E2ee")
    }
}

/// The optional header fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The application's timestamp of the frame (often Unix milliseconds).
    pub user_timestamp: Option<u64>,
    /// Set when the payload is encrypted.
    pub e2ee: Option<E2ee>,
}

impl Extensions {
    /// Bytes of the extensions themselves, without the length word and
    /// padding.
    fn len(&self) -> usize {
        let mut len = 0;
        if self.e2ee.is_some() {
            len += 2 + EXT_E2EE_LEN;
        }
        if self.user_timestamp.is_some() {
            len += 2 + EXT_USER_TIMESTAMP_LEN;
        }
        len
    }
}

/// A packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Where the packet sits in its frame.
    pub marker: Marker,
    /// The track: the publisher's handle on the way in, the subscriber's
    /// on the way out. Never 0.
    pub handle: u16,
    /// Counts packets, wrapping.
    pub sequence: u16,
    /// Counts frames, wrapping.
    pub frame_number: u16,
    /// Send time of the frame, 90 kHz.
    pub timestamp: u32,
    /// Optional fields.
    pub extensions: Extensions,
}

impl Header {
    /// Bytes this header takes on the wire.
    pub fn len(&self) -> usize {
        let ext = self.extensions.len();
        if ext == 0 {
            BASE_HEADER_LEN
        } else {
            // The length word and the extensions, padded to whole words.
            BASE_HEADER_LEN + (2 + ext).div_ceil(4) * 4
        }
    }

    /// Append the header to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let ext_len = self.extensions.len();
        let mut first = (VERSION << VERSION_SHIFT) | self.marker.bits();
        if ext_len > 0 {
            first |= EXTENSION_BIT;
        }
        out.push(first);
        out.push(0);
        out.extend_from_slice(&self.handle.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.frame_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        if ext_len == 0 {
            return;
        }
        let words = (2 + ext_len).div_ceil(4);
        // At most 25 bytes of extensions: the word count always fits.
        out.extend_from_slice(&((words - 1) as u16).to_be_bytes());
        if let Some(e2ee) = self.extensions.e2ee {
            out.push(EXT_E2EE);
            out.push(EXT_E2EE_LEN as u8);
            out.push(e2ee.key_index);
            out.extend_from_slice(&e2ee.iv);
        }
        if let Some(ts) = self.extensions.user_timestamp {
            out.push(EXT_USER_TIMESTAMP);
            out.push(EXT_USER_TIMESTAMP_LEN as u8);
            out.extend_from_slice(&ts.to_be_bytes());
        }
        let padding = words * 4 - 2 - ext_len;
        out.resize(out.len() + padding, 0);
    }
}

/// Serialise a packet into a new buffer.
pub fn encode(header: &Header, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(header.len() + payload.len());
    header.write(&mut out);
    out.extend_from_slice(payload);
    out.into()
}

/// Why bytes are not a packet we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the fixed header.
    #[error("shorter than a data-track header")]
    TooShort,
    /// A version this library does not know.
    #[error("unsupported data-track packet version {0}")]
    UnsupportedVersion(u8),
    /// Handle 0 names no track.
    #[error("data-track packet with the reserved handle 0")]
    ZeroHandle,
    /// The extension flag is set but the length word is missing, or the
    /// block is longer than the packet.
    #[error("data-track extension block overruns the packet")]
    ExtensionOverrun,
    /// An extension's length runs past the end of the block.
    #[error("malformed data-track extension {0}")]
    MalformedExtension(u8),
}

/// Read a packet. The payload shares `bytes`' storage.
pub fn parse(bytes: &Bytes) -> Result<(Header, Bytes), ParseError> {
    let b = bytes.as_ref();
    if b.len() < BASE_HEADER_LEN {
        return Err(ParseError::TooShort);
    }
    let version = b[0] >> VERSION_SHIFT;
    if version != VERSION {
        return Err(ParseError::UnsupportedVersion(version));
    }
    let be16 = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    let handle = be16(2);
    if handle == 0 {
        return Err(ParseError::ZeroHandle);
    }
    let mut header = Header {
        marker: Marker::from_bits(b[0]),
        handle,
        sequence: be16(4),
        frame_number: be16(6),
        timestamp: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        extensions: Extensions::default(),
    };
    let mut payload_start = BASE_HEADER_LEN;
    if b[0] & EXTENSION_BIT != 0 {
        if b.len() < BASE_HEADER_LEN + 2 {
            return Err(ParseError::ExtensionOverrun);
        }
        let words = usize::from(be16(BASE_HEADER_LEN));
        let block_end = BASE_HEADER_LEN + 4 * (words + 1);
        if block_end > b.len() {
            return Err(ParseError::ExtensionOverrun);
        }
        header.extensions = parse_extensions(&b[BASE_HEADER_LEN + 2..block_end])?;
        payload_start = block_end;
    }
    Ok((header, bytes.slice(payload_start..)))
}

/// Read an extension block. Unknown extensions, and known ones longer than
/// we expect (a later revision), are skipped; padding ends the block.
fn parse_extensions(mut block: &[u8]) -> Result<Extensions, ParseError> {
    let mut extensions = Extensions::default();
    while let [id, len, rest @ ..] = block {
        let (id, len) = (*id, usize::from(*len));
        if id == EXT_PADDING {
            break;
        }
        if rest.len() < len {
            return Err(ParseError::MalformedExtension(id));
        }
        let (data, tail) = rest.split_at(len);
        match id {
            EXT_E2EE if len >= EXT_E2EE_LEN => {
                let mut iv = [0; 12];
                iv.copy_from_slice(&data[1..EXT_E2EE_LEN]);
                extensions.e2ee = Some(E2ee {
                    key_index: data[0],
                    iv,
                });
            }
            EXT_USER_TIMESTAMP if len >= EXT_USER_TIMESTAMP_LEN => {
                let mut ts = [0; 8];
                ts.copy_from_slice(&data[..EXT_USER_TIMESTAMP_LEN]);
                extensions.user_timestamp = Some(u64::from_be_bytes(ts));
            }
            _ => {}
        }
        block = tail;
    }
    Ok(extensions)
}

/// Replace the handle of an encoded packet, as the SFU does for each
/// subscriber. Returns `false` if `packet` is too short to have one.
#[cfg(test)]
pub fn rewrite_handle(packet: &mut [u8], handle: u16) -> bool {
    match packet.get_mut(2..4) {
        Some(slot) => {
            slot.copy_from_slice(&handle.to_be_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(extensions: Extensions) -> Header {
        Header {
            marker: Marker::Final,
            handle: 0x8811,
            sequence: 0x4422,
            frame_number: 0x4411,
            timestamp: 0x4422_1188,
            extensions,
        }
    }

    #[test]
    fn base_header_layout() {
        let bytes = encode(&header(Extensions::default()), &[0xAB, 0xCD]);
        assert_eq!(
            bytes.as_ref(),
            [
                0x08, 0x00, 0x88, 0x11, 0x44, 0x22, 0x44, 0x11, 0x44, 0x22, 0x11, 0x88, 0xAB, 0xCD
            ]
        );
    }

    #[test]
    fn marker_bits() {
        for (marker, byte) in [
            (Marker::Inter, 0x00),
            (Marker::Start, 0x10),
            (Marker::Final, 0x08),
            (Marker::Single, 0x18),
        ] {
            let h = Header {
                marker,
                ..header(Extensions::default())
            };
            let bytes = encode(&h, &[]);
            assert_eq!(bytes[0], byte, "{marker:?}");
            assert_eq!(parse(&bytes).unwrap().0.marker, marker);
        }
    }

    #[test]
    fn user_timestamp_extension_layout() {
        let h = header(Extensions {
            user_timestamp: Some(0x4411_2211_1111_8811),
            e2ee: None,
        });
        let bytes = encode(&h, &[7]);
        // 2 (length word) + 10 (extension) = 12 bytes: three words, no
        // padding, and the length word says 3 − 1.
        assert_eq!(h.len(), 24);
        assert_eq!(bytes.len(), 25);
        assert_eq!(bytes[0], 0x0C, "final + extension flag");
        assert_eq!(&bytes[12..14], &[0, 2]);
        assert_eq!(&bytes[14..16], &[2, 8]);
        assert_eq!(&bytes[16..24], &0x4411_2211_1111_8811u64.to_be_bytes());
        assert_eq!(bytes[24], 7);
        assert_eq!(parse(&bytes).unwrap(), (h, Bytes::from_static(&[7])));
    }

    #[test]
    fn both_extensions_are_padded_to_a_word() {
        let h = header(Extensions {
            user_timestamp: Some(0x4411_2211_1111_8811),
            e2ee: Some(E2ee {
                key_index: 0xFA,
                iv: [0x3C; 12],
            }),
        });
        let bytes = encode(&h, &[0xFA; 4]);
        // 2 + 15 + 10 = 27 bytes: seven words, one byte of padding.
        assert_eq!(h.len(), 12 + 28);
        assert_eq!(&bytes[12..14], &[0, 6]);
        assert_eq!(&bytes[14..17], &[1, 13, 0xFA]);
        assert_eq!(&bytes[17..29], &[0x3C; 12]);
        assert_eq!(&bytes[29..31], &[2, 8]);
        assert_eq!(bytes[39], 0, "padding");
        let (parsed, payload) = parse(&bytes).unwrap();
        assert_eq!(parsed, h);
        assert_eq!(payload.as_ref(), [0xFA; 4]);
    }

    #[test]
    fn unknown_and_longer_extensions_are_skipped() {
        let mut raw = vec![0x0C, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        // Block: 2 + (2+3) + (2+9) = 18 bytes → five words (20 bytes).
        raw.extend_from_slice(&[0, 4]);
        raw.extend_from_slice(&[9, 3, 1, 2, 3]);
        raw.extend_from_slice(&[2, 9, 0, 0, 0, 0, 0, 0, 0, 5, 0xEE]);
        raw.extend_from_slice(&[0, 0]);
        raw.push(0x42);
        let (h, payload) = parse(&Bytes::from(raw)).unwrap();
        assert_eq!(h.extensions.user_timestamp, Some(5));
        assert_eq!(payload.as_ref(), [0x42]);
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        assert_eq!(parse(&Bytes::new()), Err(ParseError::TooShort));
        assert_eq!(
            parse(&Bytes::from_static(&[0; 11])),
            Err(ParseError::TooShort)
        );
        let mut zero = vec![0u8; 12];
        assert_eq!(
            parse(&Bytes::from(zero.clone())),
            Err(ParseError::ZeroHandle)
        );
        zero[3] = 1;
        zero[0] = 0x20;
        assert_eq!(
            parse(&Bytes::from(zero.clone())),
            Err(ParseError::UnsupportedVersion(1))
        );
        zero[0] = EXTENSION_BIT;
        assert_eq!(
            parse(&Bytes::from(zero.clone())),
            Err(ParseError::ExtensionOverrun),
            "flag without a length word"
        );
        let mut overrun = zero.clone();
        overrun.extend_from_slice(&[0, 1, 0, 0]);
        assert_eq!(
            parse(&Bytes::from(overrun)),
            Err(ParseError::ExtensionOverrun)
        );
        let mut bad_ext = zero.clone();
        bad_ext.extend_from_slice(&[0, 0, 2, 8]);
        assert_eq!(
            parse(&Bytes::from(bad_ext)),
            Err(ParseError::MalformedExtension(2))
        );
        // Every prefix and every byte value of a valid packet parses or
        // fails cleanly.
        let good = encode(
            &header(Extensions {
                user_timestamp: Some(1),
                e2ee: Some(E2ee {
                    key_index: 1,
                    iv: [1; 12],
                }),
            }),
            &[1, 2, 3],
        );
        for n in 0..good.len() {
            let _ = parse(&good.slice(..n));
            for v in [0u8, 1, 0x7F, 0xFF] {
                let mut b = good.to_vec();
                b[n] = v;
                let _ = parse(&Bytes::from(b));
            }
        }
    }

    #[test]
    fn handle_rewrite() {
        let mut bytes = encode(&header(Extensions::default()), b"x").to_vec();
        assert!(rewrite_handle(&mut bytes, 7));
        assert_eq!(parse(&Bytes::from(bytes)).unwrap().0.handle, 7);
        assert!(!rewrite_handle(&mut [0u8; 3], 7));
    }
}
