//! Writes the compiled protocol (`livekit_ffi::FILE_DESCRIPTOR_SET`, an encoded
//! `google.protobuf.FileDescriptorSet`) to stdout.
//!
//! Used by `tests/python/test_proto_conformance.py` to compare our `.proto`
//! files with the descriptors embedded in the official Python wheel:
//!
//!     cargo run -q -p livekit-ffi --example dump_descriptors > descriptors.bin

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(livekit_ffi::FILE_DESCRIPTOR_SET)?;
    out.flush()
}
