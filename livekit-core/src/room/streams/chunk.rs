//! Cutting content into chunks, and putting received text back together.
//!
//! Senders cut text only between characters, so each chunk is valid UTF-8
//! on its own. Receivers cannot count on that (a low-level sender may cut
//! anywhere, and inflated content comes out in arbitrary pieces), so
//! [`Utf8Joiner`] carries an incomplete character over to the next piece.

use super::StreamError;

/// Pieces of `text` of at most `max` bytes, each ending on a character
/// boundary. A character longer than `max` (only when `max < 4`) is kept
/// whole rather than split.
pub fn utf8_chunks(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let max = max.max(1);
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // One character wider than `max`: take it alone.
            end = rest
                .char_indices()
                .nth(1)
                .map_or(rest.len(), |(index, _)| index);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Pieces of `bytes` of at most `max` bytes.
pub fn byte_chunks(bytes: &[u8], max: usize) -> impl Iterator<Item = &[u8]> {
    bytes.chunks(max.max(1))
}

/// Joins pieces of UTF-8 text that may split characters.
#[derive(Debug, Default)]
pub struct Utf8Joiner {
    /// The start of a character whose remaining bytes have not come yet.
    pending: Vec<u8>,
}

impl Utf8Joiner {
    /// Add a piece; returns the whole characters now available (possibly
    /// none). Fails on bytes that can never become valid UTF-8.
    pub fn push(&mut self, piece: Vec<u8>) -> Result<Vec<u8>, StreamError> {
        let mut bytes = if self.pending.is_empty() {
            piece
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(&piece);
            joined
        };
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(bytes),
            Err(err) if err.error_len().is_none() => {
                // Only the last character is incomplete: hold it back.
                self.pending = bytes.split_off(err.valid_up_to());
                Ok(bytes)
            }
            Err(err) => Err(StreamError::Utf8(err.to_string())),
        }
    }

    /// The content ended: fails if a character was left incomplete.
    pub fn finish(&self) -> Result<(), StreamError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(StreamError::Utf8(format!(
                "the text ends inside a character ({} byte(s) of it)",
                self.pending.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_cut_at_the_limit() {
        let text = "a".repeat(35_000);
        let pieces: Vec<&str> = utf8_chunks(&text, 15_000).collect();
        assert_eq!(
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [15_000, 15_000, 5_000]
        );
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn multibyte_text_is_cut_between_characters() {
        // 3-byte and 4-byte characters, so no limit lines up with them.
        let text = "€😀".repeat(5_000);
        let pieces: Vec<&str> = utf8_chunks(&text, 15_000).collect();
        assert!(pieces.len() >= 3);
        assert!(pieces.iter().all(|p| p.len() <= 15_000));
        // Only the last piece is short by more than one character.
        assert!(
            pieces[..pieces.len() - 1]
                .iter()
                .all(|p| p.len() > 15_000 - 4)
        );
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn tiny_limits_and_empty_text() {
        assert_eq!(utf8_chunks("", 10).count(), 0);
        let pieces: Vec<&str> = utf8_chunks("a😀b", 2).collect();
        assert_eq!(pieces, ["a", "😀", "b"]);
        let pieces: Vec<&str> = utf8_chunks("abc", 0).collect();
        assert_eq!(pieces, ["a", "b", "c"]);
    }

    #[test]
    fn byte_chunks_cover_everything() {
        let bytes = vec![7u8; 30_001];
        let sizes: Vec<usize> = byte_chunks(&bytes, 15_000).map(<[u8]>::len).collect();
        assert_eq!(sizes, [15_000, 15_000, 1]);
    }

    #[test]
    fn joiner_carries_split_characters() {
        let text = "añb😀c".as_bytes();
        let mut joiner = Utf8Joiner::default();
        let mut out = Vec::new();
        for byte in text {
            out.extend(joiner.push(vec![*byte]).unwrap());
        }
        joiner.finish().unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn joiner_rejects_invalid_bytes_and_truncated_ends() {
        let mut joiner = Utf8Joiner::default();
        assert!(matches!(
            joiner.push(vec![b'a', 0xff]),
            Err(StreamError::Utf8(_))
        ));

        let mut joiner = Utf8Joiner::default();
        assert_eq!(joiner.push(vec![b'x', 0xe2, 0x82]).unwrap(), b"x");
        assert!(matches!(joiner.finish(), Err(StreamError::Utf8(_))));
    }
}
