use super::*;
use std::f64::consts::PI;

fn sine(rate: u32, freq: f64, amplitude: f64, start: usize, len: usize) -> Vec<i16> {
    (start..start + len)
        .map(|n| (amplitude * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

/// Level (dB relative to `amplitude`) of the component at `freq`, by
/// correlating against a complex exponential.
fn tone_level_db(signal: &[f64], rate: u32, freq: f64, amplitude: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &x) in signal.iter().enumerate() {
        re += x * (w * n as f64).cos();
        im += x * (w * n as f64).sin();
    }
    let mag = 2.0 * (re * re + im * im).sqrt() / signal.len() as f64;
    20.0 * (mag / amplitude).log10()
}

fn rms(signal: &[f64]) -> f64 {
    (signal.iter().map(|x| x * x).sum::<f64>() / signal.len() as f64).sqrt()
}

fn channel(interleaved: &[i16], channels: usize, c: usize) -> Vec<f64> {
    interleaved[c..]
        .iter()
        .step_by(channels)
        .map(|&s| f64::from(s))
        .collect()
}

/// Streams a 1 kHz sine (the same on every input channel) through the
/// resampler in frames of `frame_frames` and returns the concatenated
/// output.
fn stream_sine(
    in_rate: u32,
    out_rate: u32,
    in_channels: u32,
    out_channels: u32,
    frame_frames: usize,
    frames_total: usize,
) -> Vec<i16> {
    let mut r = AudioResampler::new();
    let mono = sine(in_rate, 1000.0, 10_000.0, 0, frames_total);
    let mut out = Vec::new();
    for chunk in mono.chunks_exact(frame_frames) {
        let input: Vec<i16> = chunk
            .iter()
            .flat_map(|&s| std::iter::repeat_n(s, in_channels as usize))
            .collect();
        let got = r
            .remix_and_resample(
                &input,
                frame_frames as u32,
                in_channels,
                in_rate,
                out_channels,
                out_rate,
            )
            .unwrap();
        out.extend_from_slice(got);
    }
    out
}

/// Frequency, level and smoothness of a resampled 1 kHz sine.
fn check_sine(out: &[i16], channels: usize, rate: u32) {
    for c in 0..channels {
        let x = channel(out, channels, c);
        // Skip the start-up transient.
        let settled = &x[x.len() / 5..];
        let level = tone_level_db(settled, rate, 1000.0, 10_000.0);
        assert!(level.abs() < 1.0, "channel {c}: 1 kHz level {level:.2} dB");
        // Everything else (other frequencies, clicks) is far below.
        let residual: Vec<f64> = {
            let w = 2.0 * PI * 1000.0 / f64::from(rate);
            // Fit amplitude and phase, subtract.
            let (mut re, mut im) = (0.0, 0.0);
            for (n, &v) in settled.iter().enumerate() {
                re += v * (w * n as f64).cos();
                im += v * (w * n as f64).sin();
            }
            let k = 2.0 / settled.len() as f64;
            settled
                .iter()
                .enumerate()
                .map(|(n, &v)| v - k * (re * (w * n as f64).cos() + im * (w * n as f64).sin()))
                .collect()
        };
        let snr = 20.0 * (rms(settled) / rms(&residual)).log10();
        println!("channel {c} at {rate} Hz: level {level:.3} dB, SNR {snr:.1} dB");
        assert!(snr > 40.0, "channel {c}: SNR {snr:.1} dB");
        // No discontinuity: the largest step between neighbours is what a
        // clean sine of this level can produce.
        let max_step = settled
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        let allowed = 10_000.0 * 2.0 * PI * 1000.0 / f64::from(rate) * 1.1 + 2.0;
        assert!(
            max_step < allowed,
            "channel {c}: step {max_step} > {allowed}"
        );
        // Zero crossings: 2 per period.
        let crossings = settled
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let expected = settled.len() as f64 / f64::from(rate) * 2000.0;
        assert!(
            (crossings as f64 - expected).abs() <= 2.0,
            "channel {c}: {crossings} crossings, expected {expected}"
        );
    }
}

#[test]
fn to_i16_rounds_and_saturates() {
    let cases = [
        (0.0, 0),
        (0.49, 0),
        (0.5, 1),
        (-0.5, -1),
        (-1.49, -1),
        (32766.6, 32767),
        (40000.0, 32767),
        (-32768.4, -32768),
        (-1e9, -32768),
        (f32::INFINITY, 32767),
        (f32::NEG_INFINITY, -32768),
        (f32::NAN, -32768),
    ];
    for (x, want) in cases {
        assert_eq!(to_i16(x), want, "to_i16({x})");
    }
}

#[test]
fn downsample_48k_to_16k_mono() {
    let out = stream_sine(48_000, 16_000, 1, 1, 480, 48_000);
    assert_eq!(out.len(), 16_000);
    check_sine(&out, 1, 16_000);
}

#[test]
fn resample_44k1_to_48k() {
    let out = stream_sine(44_100, 48_000, 1, 1, 441, 44_100);
    assert_eq!(out.len(), 48_000);
    check_sine(&out, 1, 48_000);
}

#[test]
fn upsample_16k_to_48k() {
    let out = stream_sine(16_000, 48_000, 1, 1, 160, 16_000);
    assert_eq!(out.len(), 48_000);
    check_sine(&out, 1, 48_000);
}

#[test]
fn stereo_to_mono_with_resampling() {
    let out = stream_sine(48_000, 16_000, 2, 1, 480, 48_000);
    assert_eq!(out.len(), 16_000);
    check_sine(&out, 1, 16_000);
}

#[test]
fn mono_to_stereo_with_resampling() {
    let out = stream_sine(16_000, 48_000, 1, 2, 160, 16_000);
    assert_eq!(out.len(), 96_000);
    check_sine(&out, 2, 48_000);
    assert_eq!(channel(&out, 2, 0), channel(&out, 2, 1));
}

#[test]
fn multiples_of_10ms_map_exactly_without_delay() {
    // 20 ms frames are split into two 10 ms blocks: the result must be
    // sample-identical to feeding 10 ms frames.
    let a = stream_sine(48_000, 16_000, 1, 1, 960, 48_000);
    let b = stream_sine(48_000, 16_000, 1, 1, 480, 48_000);
    assert_eq!(a, b);
}

#[test]
fn odd_frame_sizes_stay_continuous_and_exact() {
    for (in_rate, out_rate, frame) in [
        (48_000, 16_000, 1024),
        (48_000, 44_100, 1000),
        (44_100, 48_000, 512),
        (16_000, 48_000, 100),
        (22_050, 48_000, 1024),
        (48_000, 22_050, 480),
        (8_000, 11_025, 80),
    ] {
        let total = in_rate as usize / frame * frame;
        let mut r = AudioResampler::new();
        let mono = sine(in_rate, 1000.0, 10_000.0, 0, total);
        let mut out = Vec::new();
        for chunk in mono.chunks_exact(frame) {
            let got = r
                .remix_and_resample(chunk, frame as u32, 1, in_rate, 1, out_rate)
                .unwrap();
            let exact = frame as f64 * f64::from(out_rate) / f64::from(in_rate);
            assert!(
                (got.len() as f64 - exact).abs() < 1.0,
                "{in_rate}->{out_rate}/{frame}: {} vs {exact}",
                got.len()
            );
            out.extend_from_slice(got);
        }
        let expected_total = (total as u64 * u64::from(out_rate) / u64::from(in_rate)) as usize;
        assert_eq!(out.len(), expected_total, "{in_rate}->{out_rate}/{frame}");
        check_sine(&out, 1, out_rate);
    }
}

#[test]
fn switching_frame_sizes_mid_stream_keeps_the_sine() {
    let mut r = AudioResampler::new();
    let mono = sine(48_000, 1000.0, 10_000.0, 0, 48_000);
    let mut out = Vec::new();
    let mut at = 0;
    for size in [480usize, 960, 333, 480, 1000, 7].iter().cycle() {
        if at + size > mono.len() {
            break;
        }
        let got = r
            .remix_and_resample(&mono[at..at + size], *size as u32, 1, 48_000, 1, 16_000)
            .unwrap();
        out.extend_from_slice(got);
        at += size;
    }
    assert_eq!(out.len(), at / 3);
    // The switch to buffered mode leaves one 10 ms gap early on; judge
    // the signal after it.
    check_sine(&out[1600..], 1, 16_000);
}

#[test]
fn same_rate_only_remixes() {
    let mut r = AudioResampler::new();
    let input = [100i16, 300, -5, 6, 7, 8];
    let out = r
        .remix_and_resample(&input, 3, 2, 48_000, 1, 48_000)
        .unwrap();
    assert_eq!(out, &[200, 1, 8]);
    let out = r
        .remix_and_resample(&[1, 2], 2, 1, 8_000, 3, 8_000)
        .unwrap();
    assert_eq!(out, &[1, 1, 1, 2, 2, 2]);
    // 4 -> 2 folds channels 0+2 and 1+3.
    let out = r
        .remix_and_resample(&[10, 20, 30, 40], 1, 4, 8_000, 2, 8_000)
        .unwrap();
    assert_eq!(out, &[20, 30]);
    // 2 -> 3 repeats L, R, L.
    let out = r
        .remix_and_resample(&[1, 2], 1, 2, 8_000, 3, 8_000)
        .unwrap();
    assert_eq!(out, &[1, 2, 1]);
}

#[test]
fn bad_input_is_an_error() {
    let mut r = AudioResampler::new();
    let frame = [0i16; 480];
    assert_eq!(
        r.remix_and_resample(&frame, 480, 1, 0, 1, 16_000),
        Err(ResampleError::InvalidSampleRate(0))
    );
    assert_eq!(
        r.remix_and_resample(&frame, 480, 1, 48_000, 1, 0),
        Err(ResampleError::InvalidSampleRate(0))
    );
    assert_eq!(
        r.remix_and_resample(&frame, 480, 1, 48_000, 1, 400_000),
        Err(ResampleError::InvalidSampleRate(400_000))
    );
    assert_eq!(
        r.remix_and_resample(&frame, 480, 0, 48_000, 1, 16_000),
        Err(ResampleError::InvalidChannelCount(0))
    );
    assert_eq!(
        r.remix_and_resample(&frame, 480, 1, 48_000, 0, 16_000),
        Err(ResampleError::InvalidChannelCount(0))
    );
    assert!(matches!(
        r.remix_and_resample(&frame, 480, 2, 48_000, 1, 16_000),
        Err(ResampleError::LengthMismatch { .. })
    ));
    assert!(matches!(
        r.remix_and_resample(&frame, u32::MAX, u32::MAX, 48_000, 1, 16_000),
        Err(ResampleError::InvalidChannelCount(_))
    ));
    assert!(matches!(
        r.remix_and_resample(&frame, u32::MAX, 64, 48_000, 1, 16_000),
        Err(ResampleError::LengthMismatch { .. })
    ));
    // Still usable afterwards, and empty input is fine.
    assert_eq!(
        r.remix_and_resample(&frame, 480, 1, 48_000, 1, 16_000)
            .unwrap()
            .len(),
        160
    );
    assert!(
        r.remix_and_resample(&[], 0, 1, 48_000, 1, 16_000)
            .unwrap()
            .is_empty()
    );
    assert!(
        r.remix_and_resample(&[], 0, 2, 48_000, 2, 16_000)
            .unwrap()
            .is_empty()
    );
    assert!(
        r.remix_and_resample(&[], 0, 4, 44_100, 3, 44_100)
            .unwrap()
            .is_empty()
    );
    // A million samples of 1 kHz audio would become 384 million.
    let long = vec![0i16; 1_000_000];
    assert!(matches!(
        r.remix_and_resample(&long, 1_000_000, 1, 1_000, 1, 384_000),
        Err(ResampleError::FrameTooLarge(_))
    ));
}

#[test]
fn extreme_rate_pairs_do_not_panic() {
    let mut r = AudioResampler::new();
    for (a, b) in [
        (MIN_SAMPLE_RATE, MAX_SAMPLE_RATE),
        (MAX_SAMPLE_RATE, MIN_SAMPLE_RATE),
        (1_001, 48_000),
        (383_999, 8_000),
        (7_919, 7_907),
    ] {
        for frames in [1u32, a / 100, a / 100 + 1, a / 10] {
            let input = vec![1000i16; frames as usize * 2];
            let out = r.remix_and_resample(&input, frames, 2, a, 1, b).unwrap();
            let exact = f64::from(frames) * f64::from(b) / f64::from(a);
            assert!(
                (out.len() as f64 - exact).abs() <= 1.0,
                "{a}->{b} x{frames}"
            );
        }
    }
}

#[test]
fn random_calls_never_panic() {
    // A small linear congruential generator keeps the test deterministic.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    let rates = [
        8_000, 11_025, 16_000, 22_050, 24_000, 44_100, 48_000, 96_000,
    ];
    let mut r = AudioResampler::new();
    let (mut in_rate, mut out_rate, mut in_ch, mut out_ch) = (48_000, 16_000, 1, 1);
    for _ in 0..300 {
        if next(8) == 0 {
            in_rate = rates[next(8) as usize];
            out_rate = rates[next(8) as usize];
            in_ch = 1 + next(6) as u32;
            out_ch = 1 + next(6) as u32;
        }
        let frames = match next(3) {
            0 => in_rate / 100,
            1 => in_rate / 50,
            _ => next(2_000) as u32,
        };
        let input: Vec<i16> = (0..frames * in_ch).map(|_| next(65_536) as i16).collect();
        let out = r
            .remix_and_resample(&input, frames, in_ch, in_rate, out_ch, out_rate)
            .unwrap();
        let exact = f64::from(frames) * f64::from(out_rate) / f64::from(in_rate);
        assert_eq!(out.len() % out_ch as usize, 0);
        assert!((out.len() as f64 / f64::from(out_ch) - exact).abs() <= 1.0);
    }
}

#[test]
fn resampler_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<AudioResampler>();
}

/// Rate pairs that take the polyphase path.
const FAST_PAIRS: [(u32, u32); 9] = [
    (48_000, 16_000),
    (48_000, 24_000),
    (48_000, 8_000),
    (16_000, 48_000),
    (24_000, 48_000),
    (8_000, 16_000),
    (16_000, 8_000),
    (32_000, 16_000),
    (48_000, 32_000),
];

/// Feeds interleaved `input` in frames of `frame` samples per channel
/// (the last one may be shorter) and concatenates the output.
fn run_frames(in_rate: u32, out_rate: u32, channels: u32, input: &[i16], frame: usize) -> Vec<i16> {
    let mut r = AudioResampler::new();
    let mut out = Vec::new();
    for chunk in input.chunks(frame * channels as usize) {
        let n = (chunk.len() / channels as usize) as u32;
        let got = r
            .remix_and_resample(chunk, n, channels, in_rate, channels, out_rate)
            .unwrap();
        out.extend_from_slice(got);
    }
    out
}

/// Least-squares fit of a sine at `freq`: (amplitude, rms of the rest).
fn fit_tone(x: &[f64], rate: u32, freq: f64) -> (f64, f64) {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let (s, c) = (w * n as f64).sin_cos();
        cc += c * c;
        ss += s * s;
        cs += c * s;
        xc += v * c;
        xs += v * s;
    }
    let det = cc * ss - cs * cs;
    let a = (xc * ss - xs * cs) / det;
    let b = (xs * cc - xc * cs) / det;
    let resid: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(n, &v)| {
            let (s, c) = (w * n as f64).sin_cos();
            v - a * c - b * s
        })
        .collect();
    ((a * a + b * b).sqrt(), rms(&resid))
}

/// One second of a sine through a rate pair in 10 ms frames; returns the
/// output after the first 100 ms.
fn settled_tone(in_rate: u32, out_rate: u32, freq: f64) -> Vec<f64> {
    let input = sine(in_rate, freq, 10_000.0, 0, in_rate as usize);
    let out = run_frames(in_rate, out_rate, 1, &input, in_rate as usize / 100);
    assert_eq!(out.len(), out_rate as usize);
    channel(&out, 1, 0)[out_rate as usize / 10..].to_vec()
}

#[test]
fn fast_path_passband_keeps_level_and_frequency() {
    for (a, b) in FAST_PAIRS {
        assert!(Polyphase::for_rates(a, b).is_some(), "{a}->{b}");
        let low = f64::from(a.min(b));
        for frac in [0.02, 0.1, 0.2, 0.3, 0.4, 0.45] {
            let freq = frac * low;
            let x = settled_tone(a, b, freq);
            let (amp, resid) = fit_tone(&x, b, freq);
            let level = 20.0 * (amp / 10_000.0).log10();
            let snr = 20.0 * (amp / std::f64::consts::SQRT_2 / resid).log10();
            println!("{a}->{b} {freq:.0} Hz: level {level:+.4} dB, SNR {snr:.1} dB");
            assert!(level.abs() < 0.2, "{a}->{b} {freq} Hz: {level:.3} dB");
            // The fitted frequency explains nearly everything: the tone
            // came out where it went in.
            assert!(snr > 60.0, "{a}->{b} {freq} Hz: SNR {snr:.1} dB");
        }
    }
}

#[test]
fn fast_path_rejects_aliases_and_images() {
    for (a, b) in FAST_PAIRS {
        let low = f64::from(a.min(b));
        for frac in [0.56, 0.65, 0.8, 1.0, 1.5, 2.0, 3.0] {
            let (freq, probe) = if b < a {
                // Downsampling: a tone above the output Nyquist must not
                // fold back.
                (frac * low, None)
            } else {
                // Upsampling: the image of a passband tone, mirrored
                // about the input Nyquist, must not appear.
                (f64::from(a) - frac * low, Some(frac * low))
            };
            if freq <= 0.0 || freq >= 0.49 * f64::from(a) {
                continue;
            }
            let x = settled_tone(a, b, freq);
            let level = match probe {
                None => 20.0 * (rms(&x) * std::f64::consts::SQRT_2 / 10_000.0).log10(),
                Some(image) => {
                    let (amp, _) = fit_tone(&x, b, image);
                    20.0 * (amp / 10_000.0).log10()
                }
            };
            println!("{a}->{b} {freq:.0} Hz: unwanted output {level:.1} dB");
            assert!(level < -60.0, "{a}->{b} {freq} Hz: {level:.1} dB");
        }
    }
}

#[test]
fn fast_path_1khz_snr() {
    for (a, b) in FAST_PAIRS {
        let x = settled_tone(a, b, 1000.0);
        let (amp, resid) = fit_tone(&x, b, 1000.0);
        let snr = 20.0 * (amp / std::f64::consts::SQRT_2 / resid).log10();
        println!("{a}->{b} 1 kHz: SNR {snr:.1} dB");
        assert!(snr >= 70.0, "{a}->{b}: SNR {snr:.1} dB");
    }
}

#[test]
fn fast_path_frames_join_seamlessly() {
    for (a, b) in FAST_PAIRS {
        for channels in [1u32, 2] {
            let mono = sine(a, 1234.5, 12_000.0, 0, a as usize);
            let input: Vec<i16> = mono
                .iter()
                .flat_map(|&s| std::iter::repeat_n(s, channels as usize))
                .collect();
            let whole = run_frames(a, b, channels, &input, a as usize);
            let tens = run_frames(a, b, channels, &input, a as usize / 100);
            let odd = run_frames(a, b, channels, &input, 37);
            assert_eq!(whole.len(), (b * channels) as usize);
            assert_eq!(whole, tens, "{a}->{b} x{channels}: 10 ms frames");
            assert_eq!(whole, odd, "{a}->{b} x{channels}: 37-sample frames");
        }
    }
}

#[test]
fn fast_path_stereo_channels_stay_apart() {
    for (a, b) in FAST_PAIRS {
        let low = f64::from(a.min(b));
        let tones = [0.05 * low, 0.3 * low];
        let left = sine(a, tones[0], 10_000.0, 0, a as usize);
        let right = sine(a, tones[1], 10_000.0, 0, a as usize);
        let input: Vec<i16> = left
            .iter()
            .zip(&right)
            .flat_map(|(&l, &r)| [l, r])
            .collect();
        let out = run_frames(a, b, 2, &input, a as usize / 100);
        for c in 0..2 {
            let x = &channel(&out, 2, c)[b as usize / 10..];
            let (own, _) = fit_tone(x, b, tones[c]);
            let (other, _) = fit_tone(x, b, tones[1 - c]);
            let own_db = 20.0 * (own / 10_000.0).log10();
            let leak_db = 20.0 * (other / 10_000.0).log10();
            assert!(own_db.abs() < 0.2, "{a}->{b} ch{c}: {own_db:.3} dB");
            assert!(leak_db < -90.0, "{a}->{b} ch{c}: crosstalk {leak_db:.1} dB");
        }
    }
}

#[test]
fn fast_path_delay_is_half_the_filter() {
    // An impulse comes out centred (taps - 1) / (2 * down) output
    // samples later.
    for (a, b) in FAST_PAIRS {
        let bank = Polyphase::for_rates(a, b).unwrap();
        let mut input = vec![0i16; a as usize / 10];
        let at = a as usize / 50;
        input[at] = 20_000;
        let out = run_frames(a, b, 1, &input, a as usize / 100);
        let peak = out
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.unsigned_abs())
            .map(|(i, _)| i)
            .unwrap();
        let expected = at as f64 * f64::from(b) / f64::from(a)
            + (bank.taps - 1) as f64 / (2 * bank.down) as f64;
        println!(
            "{a}->{b}: {} taps, delay {:.2} ms",
            bank.taps,
            (bank.taps - 1) as f64 / (2 * bank.up) as f64 / f64::from(a) * 1000.0
        );
        assert!(
            (peak as f64 - expected).abs() <= 1.0,
            "{a}->{b}: peak {peak}, expected {expected}"
        );
    }
}

/// Throughput of the hot path for one conversion of 10 ms frames.
fn bench_pair(in_rate: u32, out_rate: u32, channels: u32) {
    let mut r = AudioResampler::new();
    let frames = in_rate / 100;
    let frame: Vec<i16> = sine(in_rate, 1000.0, 10_000.0, 0, frames as usize)
        .into_iter()
        .flat_map(|s| std::iter::repeat_n(s, channels as usize))
        .collect();
    let mut acc = 0i64;
    let label = format!(
        "remix_and_resample 10 ms {}k->{}k x{channels}",
        in_rate / 1000,
        out_rate / 1000
    );
    crate::audio::frame::bench::report(&label, 300_000, || {
        let out = r
            .remix_and_resample(&frame, frames, channels, in_rate, channels, out_rate)
            .unwrap();
        acc += i64::from(out[0]);
    });
    assert_ne!(acc, i64::MIN);
}

/// Throughput of the hot path; run with
/// `cargo test -p livekit-core --release audio -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn bench_remix_and_resample_48k_to_16k_mono() {
    bench_pair(48_000, 16_000, 1);
}

/// The other common voice conversions, same measurement.
#[test]
#[ignore = "benchmark"]
fn bench_remix_and_resample_common_pairs() {
    for (a, b, c) in [
        (48_000, 24_000, 1),
        (16_000, 48_000, 1),
        (48_000, 16_000, 2),
        (48_000, 8_000, 1),
        (24_000, 48_000, 1),
        (48_000, 32_000, 1),
    ] {
        bench_pair(a, b, c);
    }
}
