//! Conversion tests: the whole supported matrix, byte order, flipping,
//! round trips, and (ignored by default) throughput.

use std::time::{Duration, Instant};

use super::is_conversion_supported;
use super::libyuv::{Output, run};
use super::route::{Route, route};
use crate::video::buffer::VideoBufferType::{self, *};
use crate::video::buffer::{VideoError, VideoFrameBuffer, VideoFrameView};

/// The pairs the FFI layer relies on.
const REQUIRED: &[(VideoBufferType, VideoBufferType)] = &[
    (Rgba, I420),
    (Rgba, Bgra),
    (Abgr, I420),
    (Argb, I420),
    (Bgra, I420),
    (Bgra, Rgba),
    (Rgb24, I420),
    (I420, Rgba),
    (I420, Abgr),
    (I420, Argb),
    (I420, Bgra),
    (I420, Rgb24),
    (I420, I420),
    (I420a, I420),
    (I420a, I420a),
    (I422, Rgba),
    (I422, Abgr),
    (I422, Argb),
    (I422, I420),
    (I422, I422),
    (I444, Rgba),
    (I444, Bgra),
    (I444, I420),
    (I444, I444),
    (Nv12, Rgba),
    (Nv12, Bgra),
    (Nv12, I420),
    (Nv12, Nv12),
    (I010, Rgba),
    (I010, Bgra),
    (I010, I420),
];

/// Tiny, odd, and ordinary sizes.
const SIZES: &[(u32, u32)] = &[(1, 1), (7, 5), (64, 48)];

const RGB_KINDS: [VideoBufferType; 5] = [Rgba, Abgr, Argb, Bgra, Rgb24];

/// `[r, g, b, a]` laid out in `kind`'s byte order.
fn pixel_bytes(kind: VideoBufferType, [r, g, b, a]: [u8; 4]) -> Vec<u8> {
    match kind {
        Rgba => vec![r, g, b, a],
        Abgr => vec![a, b, g, r],
        Argb => vec![a, r, g, b],
        Bgra => vec![b, g, r, a],
        Rgb24 => vec![r, g, b],
        _ => panic!("{kind:?} is not packed RGB"),
    }
}

/// `[r, g, b, a]` of each pixel of a packed RGB buffer (alpha 255 for RGB24).
fn pixels(buf: &VideoFrameBuffer) -> Vec<[u8; 4]> {
    let size = if buf.kind() == Rgb24 { 3 } else { 4 };
    buf.plane(0)
        .chunks_exact(size)
        .map(|p| match buf.kind() {
            Rgba => [p[0], p[1], p[2], p[3]],
            Abgr => [p[3], p[2], p[1], p[0]],
            Argb => [p[1], p[2], p[3], p[0]],
            Bgra => [p[2], p[1], p[0], p[3]],
            Rgb24 => [p[0], p[1], p[2], 255],
            kind => panic!("{kind:?} is not packed RGB"),
        })
        .collect()
}

/// A smooth RGBA gradient; alpha varies too, unless `opaque`.
fn gradient(width: u32, height: u32, opaque: bool) -> VideoFrameBuffer {
    let mut buf = VideoFrameBuffer::new(Rgba, width, height).unwrap();
    let (w, h) = (width.max(2) - 1, height.max(2) - 1);
    for (i, px) in buf.plane_mut(0).chunks_exact_mut(4).enumerate() {
        let (x, y) = (i as u32 % width, i as u32 / width);
        px[0] = (30 + x * 190 / w) as u8;
        px[1] = (50 + y * 160 / h) as u8;
        px[2] = (220 - (x + y) * 170 / (w + h)) as u8;
        px[3] = if opaque {
            255
        } else {
            (255 - x * 200 / w) as u8
        };
    }
    buf
}

/// A test frame of any type, derived from the gradient.
fn sample(kind: VideoBufferType, width: u32, height: u32) -> VideoFrameBuffer {
    let rgba = gradient(width, height, false);
    match kind {
        Rgba => rgba,
        Abgr | Argb | Bgra | Rgb24 | I420 => rgba.convert(kind, false).unwrap(),
        I420a => {
            let mut buf = rgba
                .convert(I420, false)
                .unwrap()
                .convert(I420a, false)
                .unwrap();
            for (i, a) in buf.plane_mut(3).iter_mut().enumerate() {
                *a = (i * 37 % 256) as u8;
            }
            buf
        }
        I422 | I444 | Nv12 => rgba
            .convert(I420, false)
            .unwrap()
            .convert(kind, false)
            .unwrap(),
        I010 => {
            let i420 = rgba.convert(I420, false).unwrap();
            let widen = |plane: &[u8]| -> Vec<u8> {
                plane
                    .iter()
                    .flat_map(|&v| ((u16::from(v) << 2) | (u16::from(v) >> 6)).to_le_bytes())
                    .collect()
            };
            let planes: Vec<Vec<u8>> = (0..3).map(|i| widen(i420.plane(i))).collect();
            let strides: Vec<u32> = i420.planes().iter().map(|p| p.stride * 2).collect();
            let refs: Vec<(&[u8], u32)> = planes
                .iter()
                .zip(&strides)
                .map(|(p, &s)| (p.as_slice(), s))
                .collect();
            VideoFrameBuffer::from_planes(I010, width, height, &refs).unwrap()
        }
    }
}

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// The same buffer with each plane's rows reversed, via a same-type copy.
fn flipped(buf: &VideoFrameBuffer) -> VideoFrameBuffer {
    buf.convert(buf.kind(), true).unwrap()
}

#[test]
fn required_pairs_are_supported() {
    for &(from, to) in REQUIRED {
        assert!(is_conversion_supported(from, to), "{from:?} -> {to:?}");
    }
    for kind in VideoBufferType::ALL {
        assert!(is_conversion_supported(kind, kind));
    }
}

#[test]
fn every_supported_pair_converts_at_every_size() {
    let mut supported = 0;
    for &(w, h) in SIZES {
        for from in VideoBufferType::ALL {
            let src = sample(from, w, h);
            for to in VideoBufferType::ALL {
                let result = src.convert(to, false);
                if !is_conversion_supported(from, to) {
                    assert_eq!(result, Err(VideoError::Unsupported { from, to }));
                    continue;
                }
                supported += 1;
                let out = result.unwrap_or_else(|e| panic!("{from:?} -> {to:?} {w}x{h}: {e}"));
                let expected = VideoFrameBuffer::new(to, w, h).unwrap();
                assert_eq!((out.kind(), out.width(), out.height()), (to, w, h));
                assert_eq!(out.planes(), expected.planes(), "{from:?} -> {to:?}");
                assert_eq!(out.data().len(), expected.data().len());
            }
        }
    }
    println!("{} supported pairs", supported / SIZES.len());
}

#[test]
fn unsupported_pairs_are_errors() {
    for (from, to) in [
        (Rgba, I444),
        (Rgba, I010),
        (Rgb24, Nv12),
        (I444, I422),
        (Nv12, I422),
        (I010, Nv12),
        (I420, I010),
    ] {
        assert!(!is_conversion_supported(from, to));
        let src = sample(from, 7, 5);
        assert_eq!(
            src.convert(to, false),
            Err(VideoError::Unsupported { from, to })
        );
        assert_eq!(
            src.convert(to, true),
            Err(VideoError::Unsupported { from, to })
        );
    }
}

/// Guards the uninitialised output allocation: running each libyuv path over
/// outputs pre-filled with different bytes must give identical results.
#[test]
fn direct_conversions_write_every_byte() {
    for &(w, h) in SIZES {
        for from in VideoBufferType::ALL {
            let src = sample(from, w, h);
            for to in VideoBufferType::ALL {
                if !matches!(route(from, to), Some(Route::Direct { .. })) {
                    continue;
                }
                for flip in [false, true] {
                    let outputs: Vec<VideoFrameBuffer> = [0x00, 0xFF, 0x5A]
                        .into_iter()
                        .map(|fill| {
                            let mut out = Output::filled(to, w, h, fill).unwrap();
                            run(&src.view(), &mut out, flip).unwrap();
                            // SAFETY: the buffer was fully initialised by `filled`.
                            unsafe { out.finish() }
                        })
                        .collect();
                    assert_eq!(outputs[0], outputs[1], "{from:?} -> {to:?} {w}x{h}");
                    assert_eq!(outputs[0], outputs[2], "{from:?} -> {to:?} {w}x{h}");
                    assert_eq!(outputs[0], src.convert(to, flip).unwrap());
                }
            }
        }
    }
}

#[test]
fn run_refuses_mismatched_sizes() {
    let src = sample(Rgba, 8, 8);
    let mut out = Output::new(I420, 8, 6).unwrap();
    assert_eq!(run(&src.view(), &mut out, false), Err(-1));
}

#[test]
fn flip_y_flips_every_pair() {
    for from in VideoBufferType::ALL {
        let src = sample(from, 64, 48);
        for to in VideoBufferType::ALL {
            if !is_conversion_supported(from, to) {
                continue;
            }
            let upright = src.convert(to, false).unwrap();
            let flipped_out = src.convert(to, true).unwrap();
            let expected = flipped(&upright);
            assert_ne!(flipped_out, upright, "{from:?} -> {to:?} did not flip");
            // Chroma resampling may round a little differently upside down.
            let diff = max_diff(flipped_out.data(), expected.data());
            assert!(diff <= 1, "{from:?} -> {to:?} flip differs by {diff}");
        }
    }
}

#[test]
fn flip_y_puts_the_bottom_row_on_top() {
    // 1x2 RGBA: red above blue.
    let data = [255, 0, 0, 255, 0, 0, 255, 255];
    let src = VideoFrameBuffer::from_planes(Rgba, 1, 2, &[(&data, 4)]).unwrap();
    let same = src.convert(Rgba, true).unwrap();
    assert_eq!(same.data(), [0, 0, 255, 255, 255, 0, 0, 255]);
    let bgra = src.convert(Bgra, true).unwrap();
    assert_eq!(bgra.data(), [255, 0, 0, 255, 0, 0, 255, 255]);
    let i420 = src.convert(I420, true).unwrap();
    let y = i420.plane(0);
    assert!(y[0].abs_diff(41) <= 2 && y[1].abs_diff(82) <= 2, "Y {y:?}");
}

#[test]
fn byte_order_of_red_and_blue_pixels() {
    // BT.601 limited range: red is Y 82, U 90, V 240; blue Y 41, U 240, V 110.
    let colours = [
        ([255, 0, 0, 255], [82, 90, 240]),
        ([0, 0, 255, 255], [41, 240, 110]),
    ];
    for kind in RGB_KINDS {
        for (rgba, yuv) in colours {
            let (w, h) = (3, 3);
            let data: Vec<u8> = (0..w * h).flat_map(|_| pixel_bytes(kind, rgba)).collect();
            let stride = data.len() as u32 / h;
            let src = VideoFrameBuffer::from_planes(kind, w, h, &[(&data, stride)]).unwrap();
            let i420 = src.convert(I420, false).unwrap();
            for (plane, expected) in yuv.into_iter().enumerate() {
                let got = i420.plane(plane);
                assert!(
                    got.iter().all(|v| v.abs_diff(expected) <= 2),
                    "{kind:?} {rgba:?}: plane {plane} is {got:?}, expected {expected}"
                );
            }

            let planes = [vec![yuv[0]; 9], vec![yuv[1]; 4], vec![yuv[2]; 4]];
            let yuv_src = VideoFrameBuffer::from_planes(
                I420,
                w,
                h,
                &[(&planes[0], 3), (&planes[1], 2), (&planes[2], 2)],
            )
            .unwrap();
            let out = yuv_src.convert(kind, false).unwrap();
            let expected = pixel_bytes(kind, rgba);
            for px in out.plane(0).chunks_exact(expected.len()) {
                assert!(
                    max_diff(px, &expected) <= 4,
                    "{kind:?}: got {px:?}, expected about {expected:?}"
                );
            }
        }
    }
}

#[test]
fn rgb_shuffles_keep_every_channel() {
    let src = gradient(7, 5, false);
    let reference = pixels(&src);
    for from in RGB_KINDS {
        let mid = src.convert(from, false).unwrap();
        for to in RGB_KINDS {
            if !is_conversion_supported(from, to) {
                continue;
            }
            let got = pixels(&mid.convert(to, false).unwrap());
            let alpha_kept = from != Rgb24 && to != Rgb24;
            for (g, r) in got.iter().zip(&reference) {
                assert_eq!(g[..3], r[..3], "{from:?} -> {to:?}");
                if alpha_kept {
                    assert_eq!(g[3], r[3], "{from:?} -> {to:?} alpha");
                }
            }
        }
    }
}

#[test]
fn rgb_outputs_agree_across_byte_orders() {
    // Each YUV -> RGB path must produce the same colours whatever the byte
    // order, which catches a libyuv name mapped to the wrong layout.
    for from in [I420, I420a, I422, I444, Nv12, I010] {
        let src = sample(from, 7, 5);
        let reference = pixels(&src.convert(Rgba, false).unwrap());
        for to in RGB_KINDS {
            let got = pixels(&src.convert(to, false).unwrap());
            for (g, r) in got.iter().zip(&reference) {
                assert_eq!(g[..3], r[..3], "{from:?} -> {to:?}");
                if to != Rgb24 {
                    assert_eq!(g[3], r[3], "{from:?} -> {to:?} alpha");
                }
            }
        }
    }
}

#[test]
fn rgba_i420_round_trip_stays_close() {
    for &(w, h) in &[(64, 48), (63, 47)] {
        let src = gradient(w, h, true);
        let back = src
            .convert(I420, false)
            .unwrap()
            .convert(Rgba, false)
            .unwrap();
        let diffs: Vec<u8> = src
            .data()
            .iter()
            .zip(back.data())
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let max = diffs.iter().copied().max().unwrap_or(0);
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        assert!(
            max <= 10 && mean <= 2.0,
            "{w}x{h}: max {max}, mean {mean:.2}"
        );
    }
}

#[test]
fn yuv_round_trips_through_i420() {
    // Upsampling I420 chroma and taking it back down is near-lossless.
    let i420 = sample(I420, 64, 48);
    for kind in [I422, I444, Nv12, I420a] {
        let back = i420
            .convert(kind, false)
            .unwrap()
            .convert(I420, false)
            .unwrap();
        let diff = max_diff(back.data(), i420.data());
        assert!(diff <= 1, "I420 -> {kind:?} -> I420 differs by {diff}");
    }
    let nv12 = i420.convert(Nv12, false).unwrap();
    assert_eq!(nv12.convert(I420, false).unwrap(), i420);
}

#[test]
fn i420a_keeps_alpha_unpremultiplied() {
    let src = sample(I420a, 7, 5);
    let with_alpha = pixels(&src.convert(Rgba, false).unwrap());
    let opaque = pixels(
        &src.convert(I420, false)
            .unwrap()
            .convert(Rgba, false)
            .unwrap(),
    );
    for ((a, o), &alpha) in with_alpha.iter().zip(&opaque).zip(src.plane(3)) {
        assert_eq!(a[..3], o[..3]);
        assert_eq!(a[3], alpha);
    }
    let i420a = sample(I420, 7, 5).convert(I420a, false).unwrap();
    assert!(i420a.plane(3).iter().all(|&a| a == 255));
}

#[test]
fn i010_scales_to_eight_bits() {
    let (w, h) = (3, 3);
    let y: Vec<u8> = [64u16, 512, 1023, 940, 0, 100, 200, 300, 400]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let c: Vec<u8> = [512u16; 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    let src = VideoFrameBuffer::from_planes(I010, w, h, &[(&y, 6), (&c, 4), (&c, 4)]).unwrap();
    let i420 = src.convert(I420, false).unwrap();
    assert_eq!(i420.plane(0), [16, 128, 255, 235, 0, 25, 50, 75, 100]);
    assert_eq!(i420.plane(1), [128; 4]);
    // Grey stays grey in RGB.
    for px in pixels(&src.convert(Rgba, false).unwrap()) {
        assert!(
            px[0].abs_diff(px[1]) <= 1 && px[1].abs_diff(px[2]) <= 1,
            "{px:?}"
        );
    }
}

#[test]
fn to_i420_converts_rgb_and_keeps_other_yuv() {
    for kind in VideoBufferType::ALL {
        let src = sample(kind, 7, 5);
        let out = src.to_i420().unwrap();
        match kind {
            Rgba | Abgr | Argb | Bgra | Rgb24 => {
                assert_eq!(out, src.convert(I420, false).unwrap());
            }
            I420a => {
                assert_eq!(out.kind(), I420);
                for plane in 0..3 {
                    assert_eq!(out.plane(plane), src.plane(plane));
                }
            }
            I420 | I422 | I444 | I010 | Nv12 => assert_eq!(out, src),
        }
    }
}

/// `buf`'s planes copied out with `pad` extra bytes (`0xEE`) after every row
/// but each plane's last, so strides exceed rows and the last row is bare.
/// Returns the plane bytes and their strides.
fn padded(buf: &VideoFrameBuffer, pad: u32) -> (Vec<Vec<u8>>, Vec<u32>) {
    let mut planes = Vec::new();
    let mut strides = Vec::new();
    for (index, plane) in buf.planes().iter().enumerate() {
        let mut bytes = Vec::new();
        let rows: Vec<&[u8]> = buf.plane(index).chunks(plane.stride as usize).collect();
        for (r, row) in rows.iter().enumerate() {
            bytes.extend_from_slice(row);
            if r + 1 < rows.len() {
                bytes.resize(bytes.len() + pad as usize, 0xEE);
            }
        }
        planes.push(bytes);
        strides.push(plane.stride + pad);
    }
    (planes, strides)
}

fn view_of<'a>(
    buf: &VideoFrameBuffer,
    planes: &'a [Vec<u8>],
    strides: &[u32],
) -> VideoFrameView<'a> {
    let refs: Vec<(&[u8], u32)> = planes
        .iter()
        .zip(strides)
        .map(|(p, &s)| (p.as_slice(), s))
        .collect();
    VideoFrameView::new(buf.kind(), buf.width(), buf.height(), &refs).unwrap()
}

#[test]
fn padded_views_convert_like_packed_buffers() {
    // Odd pads make 4-byte rows and 16-bit samples misaligned (I010 then
    // reads a decoded copy); 64 is a typical alignment pad.
    for &(w, h) in SIZES {
        for from in VideoBufferType::ALL {
            let src = sample(from, w, h);
            for pad in [1, 2, 3, 64] {
                let (planes, strides) = padded(&src, pad);
                let view = view_of(&src, &planes, &strides);
                assert!(view.planes().iter().all(|&(_, s)| s > 0));
                assert_eq!(view.to_buffer(), src, "{from:?} pad {pad}");
                assert_eq!(view.to_i420(), src.to_i420(), "{from:?} pad {pad}");
                for to in VideoBufferType::ALL {
                    for flip in [false, true] {
                        assert_eq!(
                            view.convert(to, flip),
                            src.convert(to, flip),
                            "{from:?} -> {to:?} {w}x{h} pad {pad} flip {flip}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn padded_view_flips_from_its_last_row() {
    // 1x2 RGBA, red above blue, stride 12: the last row ends the slice.
    let data = [
        255, 0, 0, 255, 9, 9, 9, 9, 9, 9, 9, 9, //
        0, 0, 255, 255,
    ];
    let view = VideoFrameView::new(Rgba, 1, 2, &[(&data, 12)]).unwrap();
    assert_eq!(view.planes()[0].0.len(), 16);
    let same = view.convert(Rgba, true).unwrap();
    assert_eq!(same.data(), [0, 0, 255, 255, 255, 0, 0, 255]);
    let bgra = view.convert(Bgra, true).unwrap();
    assert_eq!(bgra.data(), [255, 0, 0, 255, 0, 0, 255, 255]);
    let i420 = view.convert(I420, true).unwrap();
    let y = i420.plane(0);
    assert!(y[0].abs_diff(41) <= 2 && y[1].abs_diff(82) <= 2, "Y {y:?}");
    // Through an intermediate (RGBA -> BGRA -> RGB24), flipped in step one.
    let rgb = view.convert(Rgb24, true).unwrap();
    assert_eq!(rgb.data(), [0, 0, 255, 255, 0, 0]);
}

#[test]
fn huge_strides_on_one_row_planes_fall_back_to_a_packed_copy() {
    // A one-row plane needs no padding, so any stride is valid, but libyuv
    // takes strides as `int`: such views are converted from a packed copy.
    let rgba = sample(Rgba, 7, 1);
    let view = VideoFrameView::new(Rgba, 7, 1, &[(rgba.plane(0), u32::MAX)]).unwrap();
    for to in [I420, Bgra, Rgb24, Rgba] {
        for flip in [false, true] {
            assert_eq!(view.convert(to, flip), rgba.convert(to, flip), "{to:?}");
        }
    }
    // I420 at height 2 has one chroma row.
    let i420 = sample(I420, 6, 2);
    let planes = [
        (i420.plane(0), 6),
        (i420.plane(1), u32::MAX),
        (i420.plane(2), 1 << 31),
    ];
    let view = VideoFrameView::new(I420, 6, 2, &planes).unwrap();
    for to in [Rgba, Nv12, I444, I420] {
        for flip in [false, true] {
            assert_eq!(view.convert(to, flip), i420.convert(to, flip), "{to:?}");
        }
    }
}

/// Frames per second of `convert` (allocation included): the best of ten
/// 100 ms windows, since the build machines are shared and noisy.
fn frames_per_second(src: &VideoFrameBuffer, to: VideoBufferType) -> f64 {
    for _ in 0..20 {
        std::hint::black_box(src.convert(to, false).unwrap());
    }
    let mut best = 0.0f64;
    for _ in 0..10 {
        let start = Instant::now();
        let mut frames = 0u32;
        while start.elapsed() < Duration::from_millis(100) {
            for _ in 0..10 {
                std::hint::black_box(src.convert(to, false).unwrap());
            }
            frames += 10;
        }
        best = best.max(f64::from(frames) / start.elapsed().as_secs_f64());
    }
    best
}

/// `cargo test -p livekit-core --release video -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn throughput_720p() {
    let rgba = gradient(1280, 720, true);
    let i420 = rgba.convert(I420, false).unwrap();
    for (name, src, to) in [
        ("RGBA -> I420", &rgba, I420),
        ("I420 -> RGBA", &i420, Rgba),
        ("RGBA -> BGRA", &rgba, Bgra),
        ("I420 -> I420", &i420, I420),
        ("I420 -> NV12", &i420, Nv12),
    ] {
        println!(
            "{name}: {:.0} frames/s at 1280x720",
            frames_per_second(src, to)
        );
    }
}
