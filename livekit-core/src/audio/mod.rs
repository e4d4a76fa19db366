//! Audio: frames, resampling, audio processing, sources and streams.

pub mod apm;
pub mod codec;
pub mod frame;
pub mod resampler;
pub mod source;
pub mod sox;
pub mod stream;

pub use apm::{ApmError, AudioProcessingModule};
pub use frame::{AudioFrame, FrameError};
pub use resampler::{AudioResampler, ResampleError};
pub use sox::{SoxDataType, SoxError, SoxResampler};
