//! The one error type of the codec pipelines.

use thiserror::Error;

use crate::audio::resampler::ResampleError;

/// Why a codec operation was refused or failed.
///
/// Kept `Clone + PartialEq` (libopus failures are reduced to their call and
/// message) so callers can store and compare errors freely.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// Opus on the wire here carries one or two channels only.
    #[error("unsupported channel count {0} (Opus: 1 or 2)")]
    InvalidChannels(u32),
    /// A bitrate libopus cannot use.
    #[error("invalid bitrate {0} bps")]
    InvalidBitrate(u32),
    /// A frame length libopus refuses: encoding takes 2.5..60 ms, and
    /// concealment whole multiples of 2.5 ms up to 120 ms.
    #[error("invalid frame of {0} samples per channel at 48 kHz")]
    InvalidFrameSize(usize),
    /// An input frame whose length does not match its announced format.
    #[error("input of {len} samples is not 10 ms at {sample_rate} Hz x {channels} channels")]
    InvalidInput {
        /// Samples passed.
        len: usize,
        /// Announced rate.
        sample_rate: u32,
        /// Announced channel count.
        channels: u32,
    },
    /// A packet that cannot be Opus at all: empty, or absurdly large.
    #[error("not an Opus packet ({0} bytes)")]
    InvalidPacket(usize),
    /// Rate or channel conversion failed.
    #[error("resampling failed: {0}")]
    Resample(#[from] ResampleError),
    /// libopus reported an error (e.g. a corrupt packet).
    #[error("{call}: {message}")]
    Opus {
        /// The libopus function that failed.
        call: &'static str,
        /// libopus's description of the error.
        message: &'static str,
    },
}

impl From<::opus::Error> for CodecError {
    fn from(err: ::opus::Error) -> Self {
        CodecError::Opus {
            call: err.function(),
            message: err.description(),
        }
    }
}
