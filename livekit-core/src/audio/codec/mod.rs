//! Sans-IO Opus pipelines: what sits between a PCM source and RTP on the
//! way out, and between RTP and a PCM sink on the way in.
//!
//! Nothing here owns a clock, a thread or a socket: the send side is driven
//! by captured frames, the receive side by arriving packets and a 10 ms
//! playout tick, each with the caller's `Instant`. That keeps every timing
//! decision unit-testable with made-up times.
//!
//! - [`AudioEncodePipeline`]: 10 ms frames of any format in, 20 ms Opus
//!   packets with RTP timestamp, marker and RFC 6464 level out.
//! - [`AudioDecodePipeline`]: RTP Opus packets in (in any order, with
//!   RED redundancy), a steady 10 ms of 48 kHz PCM out per tick, with an
//!   adaptive jitter buffer, FEC and loss concealment.
//! - [`OpusEncoder`] / [`OpusDecoder`]: the safe libopus wrappers both use.

pub mod decode;
pub mod encode;
pub mod error;
pub mod jitter;
pub mod level;
pub mod opus;
mod unwrap;

pub use decode::{AudioDecodePipeline, DecodeStats, ReceivedPacket};
pub use encode::{AudioEncodePipeline, EncodeOptions, EncodedFrame};
pub use error::CodecError;
pub use level::rfc6464_level;
pub use opus::{OpusDecoder, OpusEncoder};
