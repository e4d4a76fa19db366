//! Pure translations between the signal protocol (`livekit_protocol`, what
//! the server speaks and the room engine stores) and the FFI protocol
//! ([`crate::proto`], what the host SDK reads).
//!
//! Nothing here does I/O or touches handles: every function takes plain
//! values and returns plain values, so the room handlers stay short and the
//! mapping rules live in one tested place.
//!
//! Naming: `*_to_ffi` goes from the signal protocol to the FFI protocol,
//! `*_from_ffi` the other way. Enum maps take the typed enum; a raw `i32`
//! from the network is turned into one with prost's getters (which fall back
//! to the enum's default) or `try_from`, so an unknown value never panics.
//!
//! - [`participant`]: participant info, kinds, states, permissions,
//!   disconnect reasons, connection quality.
//! - [`track`]: publication and track info, kinds, sources, encryption,
//!   audio and frame-metadata features.
//! - [`room`]: room info and sid.
//! - [`data`]: transcriptions, chat, SIP DTMF, the legacy stream packets,
//!   and stream infos, options and errors.
//! - [`data_track`]: data-track infos, frames, options and errors.
//! - [`stats`]: transport statistics as `RtcStats`.
//! - [`rtp_stats`]: a subscribed track's receive statistics.

// The room handlers that call these are being written; until they land the
// functions are only used by the tests below them.
#![allow(dead_code)]

pub mod data;
pub mod data_track;
pub mod participant;
pub mod room;
pub mod rtp_stats;
pub mod stats;
pub mod track;
