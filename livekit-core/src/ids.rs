//! Identifiers the engine makes up itself, such as the sid of a local track
//! before the server assigns one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random identifier with the given prefix and 12 base-62 characters,
/// shaped like the server's own sids (`TR_…`).
///
/// Uniqueness, not secrecy, is the point: std's per-process random hasher
/// keys plus a counter give that without a random-number dependency.
pub fn random_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut bits = hasher.finish();
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    for _ in 0..12 {
        id.push(ALPHABET[(bits % 62) as usize] as char);
        bits /= 62;
        if bits == 0 {
            bits = hasher.finish().rotate_left(17) | 1;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_prefix_and_differ() {
        let a = super::random_id("TR_");
        let b = super::random_id("TR_");
        assert!(a.starts_with("TR_") && a.len() == 15);
        assert_ne!(a, b);
    }
}
