//! The LiveKit client engine, in pure Rust.
//!
//! This crate holds everything a LiveKit client does, independent of how it
//! is driven:
//!
//! - [`audio`]: frames, sources with pacing queues, streams, resampling
//!   (WebRTC-style remix-and-resample and soxr), and audio processing (echo
//!   cancellation, noise suppression, gain control).
//! - [`video`]: frame buffers in every pixel format the protocol names,
//!   conversion between them, sources and streams.
//! - [`track`]: local tracks over sources.
//!
//! The `livekit-ffi` crate exposes it through the C ABI and protobuf protocol
//! that LiveKit's SDKs speak; nothing here knows about that protocol.

pub mod audio;
pub mod ids;
pub mod queue;
pub mod room;
pub mod track;
pub mod transport;
pub mod video;
