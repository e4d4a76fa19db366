//! The LiveKit client engine, in pure Rust.
//!
//! This crate holds everything a LiveKit client does, independent of how it is
//! driven: [`audio`] (frames, sources, streams, resampling, audio processing)
//! and [`video`] (frame buffers, pixel-format conversion, sources, streams).
//! The `livekit-ffi` crate exposes it through the C ABI and protobuf protocol
//! that LiveKit's SDKs speak; nothing here knows about that protocol.

pub mod audio;
pub mod video;
