//! Raw DEFLATE (RFC 1951, no zlib or gzip framing), the `DEFLATE_RAW`
//! compression a stream header may name.
//!
//! A compressed stream is one DEFLATE stream cut into chunks at arbitrary
//! byte positions, so one [`Inflater`] is fed every chunk in order. It
//! refuses to produce more than a limit, so a small packet cannot expand
//! into an unbounded amount of memory.

use flate2::{Decompress, FlushDecompress, Status};

use super::StreamError;

/// How much output room to add at a time.
const GROW: usize = 32 * 1024;

/// A streaming raw-DEFLATE decoder with an output limit.
pub struct Inflater {
    inner: Decompress,
    /// Bytes produced so far.
    produced: u64,
    /// Most bytes it may produce in all.
    limit: u64,
    /// The DEFLATE stream's final block has been decoded.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("produced", &self.produced)
            .field("limit", &self.limit)
            .field("ended", &self.ended)
            .finish()
    }
}

impl Inflater {
    /// A decoder that fails once its output would pass `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            inner: Decompress::new(false),
            produced: 0,
            limit,
            ended: false,
        }
    }

    /// Decode the next piece of compressed input; returns what it decodes
    /// to so far. Input after the end of the DEFLATE stream is ignored.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut out: Vec<u8> = Vec::new();
        let mut consumed = 0usize;
        while !self.ended {
            if out.len() == out.capacity() {
                out.reserve(GROW.max(input.len() * 2));
            }
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .decompress_vec(
                    input.get(consumed..).unwrap_or(&[]),
                    &mut out,
                    FlushDecompress::None,
                )
                .map_err(|_| StreamError::Decompression)?;
            let read = (self.inner.total_in() - in_before) as usize;
            let wrote = self.inner.total_out() - out_before;
            consumed += read;
            if self.produced + out.len() as u64 > self.limit {
                return Err(StreamError::PayloadTooLarge);
            }
            if status == Status::StreamEnd {
                self.ended = true;
                break;
            }
            let room_left = out.len() < out.capacity();
            if consumed >= input.len() && room_left {
                // Everything read and nothing held back for lack of room.
                break;
            }
            if read == 0 && wrote == 0 && room_left {
                // No progress with room to spare: it needs more input.
                break;
            }
        }
        self.produced += out.len() as u64;
        Ok(out)
    }

    /// Total bytes produced.
    pub fn produced(&self) -> u64 {
        self.produced
    }
}

/// Inflate a complete raw-DEFLATE payload (inline content), up to `limit`
/// bytes of output.
pub fn inflate_all(input: &[u8], limit: u64) -> Result<Vec<u8>, StreamError> {
    Inflater::new(limit).push(input)
}

/// Compress `data` as raw DEFLATE.
pub fn deflate_all(data: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut encoder = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut consumed = 0usize;
    loop {
        if out.len() == out.capacity() {
            out.reserve(GROW);
        }
        let (in_before, out_before) = (encoder.total_in(), encoder.total_out());
        let status = encoder.compress_vec(
            data.get(consumed..).unwrap_or(&[]),
            &mut out,
            FlushCompress::Finish,
        );
        consumed += (encoder.total_in() - in_before) as usize;
        let stalled = encoder.total_in() == in_before
            && encoder.total_out() == out_before
            && out.len() < out.capacity();
        match status {
            Ok(flate2::Status::StreamEnd) => return out,
            // Compressing into a vector with room cannot fail or stall; if
            // it ever did, stopping beats looping.
            Ok(_) if stalled => return out,
            Ok(_) => {}
            Err(_) => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivially so.
        (0..len)
            .map(|i| ((i * 7) % 251) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    #[test]
    fn whole_payload_round_trips() {
        let data = sample(100_000);
        let packed = deflate_all(&data);
        assert!(packed.len() < data.len());
        assert_eq!(inflate_all(&packed, u64::MAX).unwrap(), data);
        assert_eq!(inflate_all(&deflate_all(b""), 10).unwrap(), b"");
    }

    #[test]
    fn pieces_cut_anywhere_inflate_to_the_same() {
        let data = sample(200_000);
        let packed = deflate_all(&data);
        for size in [1usize, 7, 1000, 15_000] {
            let mut inflater = Inflater::new(u64::MAX);
            let mut out = Vec::new();
            for piece in packed.chunks(size) {
                out.extend(inflater.push(piece).unwrap());
            }
            assert_eq!(out, data, "pieces of {size}");
            assert_eq!(inflater.produced(), data.len() as u64);
        }
    }

    #[test]
    fn highly_compressible_input_expands_fully() {
        let data = vec![b'z'; 3_000_000];
        let packed = deflate_all(&data);
        assert!(packed.len() < 10_000);
        assert_eq!(inflate_all(&packed, u64::MAX).unwrap().len(), data.len());
    }

    #[test]
    fn the_limit_stops_a_bomb() {
        let packed = deflate_all(&vec![0u8; 1_000_000]);
        assert_eq!(
            inflate_all(&packed, 999_999),
            Err(StreamError::PayloadTooLarge)
        );
        assert_eq!(inflate_all(&packed, 1_000_000).unwrap().len(), 1_000_000);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(
            inflate_all(&[0xff; 64], u64::MAX),
            Err(StreamError::Decompression)
        );
    }
}
