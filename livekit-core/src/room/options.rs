//! How to join a room.

use std::time::Duration;

use crate::transport::IceServer;

/// Options of [`Room::connect`](super::Room::connect). Defaults match the
/// official client's `RoomOptions::default()`.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Subscribe to every published track automatically.
    pub auto_subscribe: bool,
    /// Let the server adapt video layers to what we render (passed through).
    pub adaptive_stream: bool,
    /// Pause unused simulcast layers of our video (passed through).
    pub dynacast: bool,
    /// Extra join attempts after the first fails for a retryable reason.
    pub join_retries: u32,
    /// Time allowed for the signal WebSocket to open.
    pub connect_timeout: Duration,
    /// ICE servers that replace the server's; empty keeps the server's.
    pub ice_servers: Vec<IceServer>,
    /// Use relay candidates only.
    pub relay_only: bool,
    /// The SDK name reported to the server (`python`, `unity`, …).
    pub sdk: String,
    /// The SDK version reported to the server.
    pub sdk_version: String,
    /// The largest data stream accepted, in bytes (uncompressed); larger
    /// ones fail with `PayloadTooLarge`.
    pub max_stream_payload: u64,
}

impl Default for RoomOptions {
    fn default() -> Self {
        Self {
            auto_subscribe: true,
            adaptive_stream: false,
            dynacast: false,
            join_retries: 3,
            connect_timeout: Duration::from_secs(5),
            ice_servers: Vec::new(),
            relay_only: false,
            sdk: "rust".into(),
            sdk_version: env!("CARGO_PKG_VERSION").into(),
            max_stream_payload: super::streams::DEFAULT_MAX_PAYLOAD,
        }
    }
}
