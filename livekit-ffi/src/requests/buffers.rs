//! Reading and writing memory the host points at.
//!
//! The protocol passes buffers as raw addresses (`data_ptr`) with a length
//! that the request declares, so the library cannot know how much memory is
//! really there. What it can do is reject what is certainly wrong, a null
//! address, a misaligned one, a length that overflows or disagrees with the
//! declared format, before touching anything, and copy what it keeps before
//! the request returns.

use crate::error::{FfiError, FfiResult};

/// Checks an address for `len` elements of `T` and returns it as a pointer.
fn checked<T>(what: &str, ptr: u64, len: usize) -> FfiResult<*mut T> {
    if ptr == 0 {
        return Err(FfiError::invalid(format!("{what}: null data pointer")));
    }
    if !ptr.is_multiple_of(std::mem::align_of::<T>() as u64) {
        return Err(FfiError::invalid(format!(
            "{what}: data pointer {ptr:#x} is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    let bytes = len
        .checked_mul(std::mem::size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize && ptr.checked_add(b as u64).is_some());
    if bytes.is_none() {
        return Err(FfiError::invalid(format!(
            "{what}: buffer length overflows"
        )));
    }
    Ok(ptr as usize as *mut T)
}

/// Borrows `len` elements of host memory.
///
/// # Safety
/// The host guarantees, as the protocol requires, that a non-null `ptr`
/// points to at least `len` readable `T`s that stay valid for `'a`.
pub unsafe fn host_slice<'a, T>(what: &str, ptr: u64, len: usize) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    let ptr = checked::<T>(what, ptr, len)?;
    // SAFETY: non-null, aligned, in range; readable per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `len` elements of host memory for writing in place.
///
/// # Safety
/// As [`host_slice`], and the memory is writable and not aliased for `'a`.
pub unsafe fn host_slice_mut<'a, T>(what: &str, ptr: u64, len: usize) -> FfiResult<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    let ptr = checked::<T>(what, ptr, len)?;
    // SAFETY: non-null, aligned, in range; writable per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The sample count of `samples_per_channel × num_channels`, rejecting
/// overflow and empty layouts.
pub fn sample_count(what: &str, samples_per_channel: u32, num_channels: u32) -> FfiResult<usize> {
    if num_channels == 0 {
        return Err(FfiError::invalid(format!("{what}: num_channels is 0")));
    }
    (samples_per_channel as usize)
        .checked_mul(num_channels as usize)
        .ok_or_else(|| FfiError::invalid(format!("{what}: frame size overflows")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_null_misaligned_and_overflowing() {
        let data = [0i16; 4];
        let ptr = data.as_ptr() as u64;
        unsafe {
            assert!(host_slice::<i16>("t", 0, 4).is_err());
            assert!(host_slice::<i16>("t", ptr + 1, 2).is_err());
            assert!(host_slice::<i16>("t", ptr, usize::MAX / 2).is_err());
            assert_eq!(host_slice::<i16>("t", ptr, 4).unwrap().len(), 4);
            assert!(host_slice::<i16>("t", 0, 0).unwrap().is_empty());
        }
    }

    #[test]
    fn sample_count_checks() {
        assert!(sample_count("t", 480, 0).is_err());
        assert_eq!(sample_count("t", 480, 2).unwrap(), 960);
    }
}
