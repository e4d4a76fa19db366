pub mod proto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/livekit.proto.rs"));
}

/// The compiled `protos/` as an encoded `FileDescriptorSet`, so tests can
/// compare our protocol with the one the official SDK embeds.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
