//! Audio level as RFC 6464 puts it in the RTP header extension, and the
//! simple energy voice detector built on it.

/// The level of digital silence (and of anything quieter than -127 dBov).
pub const SILENT_LEVEL: u8 = 127;

/// Frames at least this loud (level below this, i.e. louder than -50 dBov)
/// count as voice. A plain energy threshold: it cannot tell speech from
/// loud noise, but it matches what the level extension is used for (active
/// speaker detection on the server ranks the loudest streams anyway) and
/// costs nothing.
pub const VOICE_LEVEL: u8 = 50;

/// RFC 6464 level of interleaved PCM: the RMS over all samples in dB
/// relative to the overload point (a full-scale square wave, 32768), negated
/// and clamped to 0..=127. A full-scale sine is 3, silence 127.
pub fn rfc6464_level(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return SILENT_LEVEL;
    }
    let energy: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    level_of_mean_square(energy / pcm.len() as f64)
}

/// Level of a mean square sample value (in i16 units squared).
pub(crate) fn level_of_mean_square(mean_square: f64) -> u8 {
    const FULL_SCALE_SQUARED: f64 = 32768.0 * 32768.0;
    if mean_square <= 0.0 {
        return SILENT_LEVEL;
    }
    let dbov = 10.0 * (mean_square / FULL_SCALE_SQUARED).log10();
    (-dbov).round().clamp(0.0, f64::from(SILENT_LEVEL)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_is_three_and_silence_is_127() {
        let sine: Vec<i16> = (0..960)
            .map(|i| {
                (32767.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48_000.0).sin()) as i16
            })
            .collect();
        assert_eq!(rfc6464_level(&sine), 3);
        assert_eq!(rfc6464_level(&[0; 960]), SILENT_LEVEL);
        assert_eq!(rfc6464_level(&[]), SILENT_LEVEL);
        assert_eq!(rfc6464_level(&[i16::MIN; 4]), 0);
        // -40 dB below the sine: 43.
        let quiet: Vec<i16> = sine.iter().map(|&s| s / 100).collect();
        assert_eq!(rfc6464_level(&quiet), 43);
        assert_eq!(rfc6464_level(&[1, -1, 1, -1]), 90);
    }
}
