//! Unwrapping of RTP sequence numbers and timestamps into `i64`, so the
//! jitter buffer can order and subtract them without caring about the
//! 16- and 32-bit wraparound.

/// Extends wrapping counters of `BITS` bits to `i64`: each value is placed
/// as close as possible to the previous one, so any step of less than half
/// the counter range in either direction comes out right.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Unwrapper<const BITS: u32> {
    last: Option<i64>,
}

/// RTP sequence numbers.
pub(crate) type SeqUnwrapper = Unwrapper<16>;
/// RTP timestamps.
pub(crate) type TsUnwrapper = Unwrapper<32>;

impl<const BITS: u32> Unwrapper<BITS> {
    const RANGE: i64 = 1 << BITS;

    /// The unwrapped value of `value`, without remembering it.
    pub(crate) fn peek(&self, value: u32) -> i64 {
        let value = i64::from(value) & (Self::RANGE - 1);
        match self.last {
            None => value,
            Some(last) => {
                let mut diff = (value - last).rem_euclid(Self::RANGE);
                if diff >= Self::RANGE / 2 {
                    diff -= Self::RANGE;
                }
                last + diff
            }
        }
    }

    /// Unwraps `value` and makes it the reference for the next one.
    #[cfg(test)]
    pub(crate) fn update(&mut self, value: u32) -> i64 {
        let unwrapped = self.peek(value);
        self.last = Some(unwrapped);
        unwrapped
    }

    /// Makes the unwrapped `value` the reference (after a value was peeked
    /// and accepted).
    pub(crate) fn set(&mut self, unwrapped: i64) {
        self.last = Some(unwrapped);
    }

    /// Forgets the reference: the next value starts a new stream.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_wrap_both_ways() {
        let mut seq = SeqUnwrapper::default();
        assert_eq!(seq.update(65_534), 65_534);
        assert_eq!(seq.update(65_535), 65_535);
        assert_eq!(seq.update(0), 65_536);
        assert_eq!(seq.update(3), 65_539);
        assert_eq!(seq.peek(65_535), 65_535);
        assert_eq!(seq.update(65_530), 65_530);
    }

    #[test]
    fn timestamps_wrap() {
        let mut ts = TsUnwrapper::default();
        assert_eq!(ts.update(u32::MAX - 959), i64::from(u32::MAX - 959));
        assert_eq!(ts.update(0), 1 << 32);
        assert_eq!(ts.update(960), (1 << 32) + 960);
        assert_eq!(ts.peek(u32::MAX), (1 << 32) - 1);
        ts.reset();
        assert_eq!(ts.update(5), 5);
    }
}
