//! Video: frame buffers, pixel-format conversion, sources and streams.
