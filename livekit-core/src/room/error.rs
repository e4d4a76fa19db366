//! Why a room operation failed.

use crate::transport::TransportError;

/// Errors of connecting to and acting in a room. The messages are shown to
/// SDK users as they are, so they say what went wrong in their terms.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RoomError {
    /// The signal connection could not be made or was refused.
    #[error("signal: {0}")]
    Signal(String),
    /// The server rejected the token.
    #[error("not authorized: {0}")]
    Unauthorized(String),
    /// The peer connections failed.
    #[error("transport: {0}")]
    Transport(String),
    /// Something took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The room is closed.
    #[error("room is closed")]
    Closed,
    /// The request is not valid (too large, bad argument).
    #[error("{0}")]
    Invalid(String),
    /// The server answered a request with an error.
    #[error("server rejected the request: {0}")]
    Rejected(String),
}

impl From<TransportError> for RoomError {
    fn from(err: TransportError) -> Self {
        match err {
            TransportError::Closed => RoomError::Closed,
            other => RoomError::Transport(other.to_string()),
        }
    }
}

impl From<livekit_signaling::SignalError> for RoomError {
    fn from(err: livekit_signaling::SignalError) -> Self {
        use livekit_signaling::SignalError as S;
        match &err {
            S::Client(status, body) if status.as_u16() == 401 || status.as_u16() == 403 => {
                RoomError::Unauthorized(format!("{status}: {body}"))
            }
            S::Client(status, body) => RoomError::Rejected(format!("{status}: {body}")),
            S::UrlParse(_) | S::TokenFormat => RoomError::Invalid(err.to_string()),
            S::Timeout(what) => RoomError::Timeout(what.clone()),
            _ => RoomError::Signal(err.to_string()),
        }
    }
}
