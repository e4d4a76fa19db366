//! Audio: frames, resampling, audio processing, sources and streams.
