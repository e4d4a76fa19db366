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

/// A random version-4 UUID in its text form, for chat message and stream
/// ids that other clients expect to look like UUIDs.
pub fn uuid_v4() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    for half in bytes.chunks_mut(8) {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        half.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_version_4_and_differ() {
        let a = super::uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(a, super::uuid_v4());
    }

    #[test]
    fn ids_have_the_prefix_and_differ() {
        let a = super::random_id("TR_");
        let b = super::random_id("TR_");
        assert!(a.starts_with("TR_") && a.len() == 15);
        assert_ne!(a, b);
    }
}
