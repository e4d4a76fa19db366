//! Errors a request can end in.
//!
//! None of these reach the host as a crash: a request that fails returns the
//! invalid handle (0) and logs the message, or carries the message in its
//! response's or callback's `error` field where the protocol has one.

use crate::handles::FfiHandleId;

/// Why a request could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum FfiError {
    /// The bytes are not an `FfiRequest`, or a field is missing or invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No live handle has this id.
    #[error("unknown handle {0}")]
    UnknownHandle(FfiHandleId),
    /// The handle exists but holds another kind of object.
    #[error("handle {id} is not a {expected}")]
    WrongHandleType {
        /// The id the client sent.
        id: FfiHandleId,
        /// The kind of object the request needs.
        expected: &'static str,
    },
    /// The request is part of the protocol but this library does not
    /// implement it yet (media tracks, RPC, encryption).
    #[error("unsupported: {0} is not implemented by this library yet")]
    Unsupported(String),
    /// The engine refused the operation.
    #[error("{0}")]
    Engine(String),
}

impl FfiError {
    /// Shorthand for an [`FfiError::InvalidRequest`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }
}

/// The result of a request handler.
pub type FfiResult<T> = Result<T, FfiError>;
