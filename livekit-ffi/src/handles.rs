//! The handle table: every object the client owns, keyed by a `u64` id.
//!
//! The protocol hands out ids, never pointers, so a stale or forged id from
//! the client can only ever produce an error. Values are stored as
//! `Arc<dyn Any>` and recovered by type, so a handle of the wrong kind is
//! rejected instead of reinterpreted.
//!
//! One counter issues every id the protocol needs (handles, response buffers,
//! async ids): the SDKs match callbacks by id, and an id of 0 reads the same as
//! an absent field, so 0 is never issued.
//!
//! When the library itself retires an object the client still owns (say, a
//! remote track of a room that closed), it leaves a *tombstone* under the id,
//! so the client's later drop of that id still succeeds: the Python SDK
//! asserts that it does.

use std::any::{Any, type_name};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

use crate::error::FfiError;

/// An id in the handle table; 0 means "no handle".
pub type FfiHandleId = u64;

/// The id that is never issued.
pub const INVALID_HANDLE: FfiHandleId = 0;

type Value = Arc<dyn Any + Send + Sync>;

/// Hashes ids by Fibonacci multiplication. Ids are issued by this table, not
/// chosen by an attacker, so SipHash's flooding resistance buys nothing, and
/// every request pays for two to four hashes. The product mixes sequential
/// ids into the high bits that pick the shard and the control byte.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0 ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

enum Slot {
    Live(Value),
    /// The object is gone, but the client may still drop the id.
    Tombstone,
}

/// A concurrent, typed map from ids to owned objects.
pub struct HandleTable {
    slots: DashMap<FfiHandleId, Slot, BuildHasherDefault<IdHasher>>,
    next_id: AtomicU64,
}

impl Default for HandleTable {
    fn default() -> Self {
        Self {
            slots: DashMap::default(),
            next_id: AtomicU64::new(1),
        }
    }
}

impl HandleTable {
    /// Issues a fresh id without storing anything (async ids, invocation ids).
    pub fn next_id(&self) -> FfiHandleId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Stores `value` under a fresh id and returns the id.
    pub fn insert<T: Any + Send + Sync>(&self, value: T) -> FfiHandleId {
        self.insert_arc(Arc::new(value))
    }

    /// Stores an already shared value, for objects other parts of the
    /// library keep using (a track feeding streams, say).
    pub fn insert_arc<T: Any + Send + Sync>(&self, value: Arc<T>) -> FfiHandleId {
        let id = self.next_id();
        self.slots.insert(id, Slot::Live(value));
        id
    }

    /// Stores a shared value under an id issued earlier by [`Self::next_id`],
    /// for objects that must know their own handle.
    pub fn insert_with_id<T: Any + Send + Sync>(&self, id: FfiHandleId, value: Arc<T>) {
        self.slots.insert(id, Slot::Live(value));
    }

    /// The value under `id`, if it is a `T`.
    pub fn get<T: Any + Send + Sync>(&self, id: FfiHandleId) -> Result<Arc<T>, FfiError> {
        let value = match self.slots.get(&id).as_deref() {
            Some(Slot::Live(value)) => value.clone(),
            _ => return Err(FfiError::UnknownHandle(id)),
        };
        value
            .downcast::<T>()
            .map_err(|_| FfiError::WrongHandleType {
                id,
                expected: short_type_name::<T>(),
            })
    }

    /// Removes and returns the value under `id` if it is a `T`, for requests
    /// that consume their handle. A value of another type stays where it is.
    pub fn take<T: Any + Send + Sync>(&self, id: FfiHandleId) -> Result<Arc<T>, FfiError> {
        let removed = self
            .slots
            .remove_if(&id, |_, slot| match slot {
                Slot::Live(value) => value.is::<T>(),
                Slot::Tombstone => false,
            })
            .map(|(_, slot)| slot);
        match removed {
            Some(Slot::Live(value)) => Ok(value
                .downcast::<T>()
                .unwrap_or_else(|_| unreachable!("remove_if checked the type of handle {id}"))),
            _ => {
                // Nothing removed: tell apart "absent" and "other type".
                self.get::<T>(id)?;
                Err(FfiError::UnknownHandle(id))
            }
        }
    }

    /// Drops the client's ownership of `id`. Returns false when the id was
    /// never issued or was already dropped.
    pub fn drop_handle(&self, id: FfiHandleId) -> bool {
        // The value is dropped after the map's shard lock is released, so a
        // Drop impl may use the table itself.
        let removed = self.slots.remove(&id);
        removed.is_some()
    }

    /// Replaces a live value with a tombstone, releasing the object while
    /// keeping the client's later drop of `id` valid.
    pub fn retire(&self, id: FfiHandleId) {
        let previous = self
            .slots
            .get_mut(&id)
            .map(|mut slot| std::mem::replace(&mut *slot, Slot::Tombstone));
        drop(previous);
    }

    /// How many ids are held, live or tombstoned (for leak checks in tests).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The last path segment of a type's name, for error messages.
fn short_type_name<T>() -> &'static str {
    let full = type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Apple;
    struct Pear;

    #[test]
    fn ids_start_at_one_and_are_unique() {
        let table = HandleTable::default();
        let a = table.insert(Apple);
        let b = table.next_id();
        let c = table.insert(Pear);
        assert_eq!(a, 1);
        assert!(a < b && b < c);
    }

    #[test]
    fn typed_access_rejects_other_types() {
        let table = HandleTable::default();
        let id = table.insert(Apple);
        assert!(table.get::<Apple>(id).is_ok());
        let err = table.get::<Pear>(id).err().unwrap();
        assert!(matches!(
            err,
            FfiError::WrongHandleType {
                expected: "Pear",
                ..
            }
        ));
        assert!(matches!(
            table.get::<Apple>(999),
            Err(FfiError::UnknownHandle(999))
        ));
    }

    #[test]
    fn take_of_wrong_type_leaves_the_value() {
        let table = HandleTable::default();
        let id = table.insert(Apple);
        assert!(matches!(
            table.take::<Pear>(id),
            Err(FfiError::WrongHandleType { .. })
        ));
        assert!(table.take::<Apple>(id).is_ok());
        assert!(matches!(
            table.take::<Apple>(id),
            Err(FfiError::UnknownHandle(_))
        ));
    }

    #[test]
    fn drop_succeeds_once_and_tombstones_count() {
        let table = HandleTable::default();
        let id = table.insert(Apple);
        table.retire(id);
        assert!(table.get::<Apple>(id).is_err());
        assert!(table.drop_handle(id));
        assert!(!table.drop_handle(id));
        assert!(!table.drop_handle(12345));
    }

    #[test]
    fn ids_spread_over_shards() {
        use std::hash::BuildHasher;
        let hasher = BuildHasherDefault::<IdHasher>::default();
        // The top bits below the 7 dashmap skips choose the shard.
        let shards: std::collections::HashSet<u64> = (1..=64u64)
            .map(|id| (hasher.hash_one(id) << 7) >> 60)
            .collect();
        assert!(
            shards.len() >= 12,
            "sequential ids land in {} of 16 shards",
            shards.len()
        );
    }

    #[test]
    fn dropping_releases_the_value() {
        let table = HandleTable::default();
        let shared = Arc::new(Apple);
        let id = table.insert_arc(shared.clone());
        assert_eq!(Arc::strong_count(&shared), 2);
        table.drop_handle(id);
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
