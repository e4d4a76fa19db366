//! Compiles the vendored libsoxr 0.1.3 (`libsoxr/`) into a static library,
//! with the engines its CMake build enables by default on x86:
//!
//! - `cr32s`: single-precision constant-rate engine on SSE, with the SIMD
//!   PFFFT for its DFT stage. It serves every recipe up to 20 bits, which
//!   covers all of LiveKit's SoxQualityRecipe values.
//! - `cr64s`: double-precision engine on AVX (used for 24- to 32-bit recipes
//!   and `SOXR_DOUBLE_PRECISION`). Its three files get `-mavx` of their own;
//!   libsoxr checks CPUID/XGETBV at run time and falls back to `cr64` on a
//!   CPU without AVX, as upstream does.
//! - the scalar `cr32`, `cr64` and `vr32` engines, as fallbacks
//!   (`SOXR_USE_SIMD=0` in the environment selects the scalar ones, which
//!   helps when comparing).
//!
//! Instead of CMake's `configure_file`, `soxr-config.h` is written into
//! `OUT_DIR` from the target's properties. On targets other than x86/x86_64
//! the SIMD engines are left out (libsoxr's SIMD code there needs NEON on
//! 32-bit ARM plus libavcodec), leaving the scalar engines.
//!
//! The rest of the C code is built for the same CPU features rustc targets
//! (the workspace builds for x86-64-v3), so the scalar parts (sample format
//! conversion, filter design) can use AVX2/FMA too.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Always built: API, I/O conversion, filter design, scalar engines. The
/// double-precision FFT (`fft4g64.c`) is needed by the filter design even
/// without `cr64`.
const CORE: &[&str] = &[
    "soxr.c",
    "data-io.c",
    "dbesi0.c",
    "filter.c",
    "cr.c",
    "cr32.c",
    "fft4g32.c",
    "cr64.c",
    "fft4g64.c",
    "vr32.c",
];

/// Single-precision SIMD engine (SSE on x86).
const SIMD32: &[&str] = &["cr32s.c", "pffft32s.c", "util32s.c"];

/// Double-precision SIMD engine (AVX), compiled with AVX enabled.
const SIMD64: &[&str] = &["cr64s.c", "pffft64s.c", "util64s.c"];

/// rustc target features that map one to one onto GCC/Clang `-m` flags and
/// matter to vectorised float code.
const FEATURE_FLAGS: &[(&str, &str)] = &[
    ("sse3", "-msse3"),
    ("ssse3", "-mssse3"),
    ("sse4.1", "-msse4.1"),
    ("sse4.2", "-msse4.2"),
    ("avx", "-mavx"),
    ("avx2", "-mavx2"),
    ("fma", "-mfma"),
    ("f16c", "-mf16c"),
];

fn main() {
    let src = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("libsoxr");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap();
    let endian = env::var("CARGO_CFG_TARGET_ENDIAN").unwrap();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let features: Vec<&str> = features.split(',').collect();

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=libsoxr");

    let simd = matches!(arch.as_str(), "x86" | "x86_64");
    let include = out.join("include");
    fs::create_dir_all(&include).unwrap();
    write_config(&include.join("soxr-config.h"), simd, endian == "big");

    let base = {
        let mut b = cc::Build::new();
        b.include(&include).include(&src);
        // Defined, as the library build requires, but to 0 as soxr-sys does:
        // with `#if SOXR_LIB` false, the global FFT cache is not freed from
        // an atexit hook, which could run while another thread (the FFI's
        // audio thread) is still resampling at process exit.
        b.define("SOXR_LIB", "0");
        b.flag_if_supported("-std=gnu89");
        // Third-party code: its warnings are not ours to fix.
        b.warnings(false);
        b.extra_warnings(false);
        b
    };
    let gnu_like = !base.get_compiler().is_like_msvc();
    let mut cpu_flags = Vec::new();
    if gnu_like && simd {
        for (feature, flag) in FEATURE_FLAGS {
            if features.contains(feature) {
                cpu_flags.push(*flag);
            }
        }
    }

    let mut objects = Vec::new();
    if simd {
        // The AVX engine's files need AVX whatever the baseline; libsoxr
        // only selects that engine on a CPU that has it.
        let mut avx = base.clone();
        for flag in &cpu_flags {
            avx.flag(flag);
        }
        if gnu_like {
            avx.flag("-mavx");
        } else {
            avx.flag("/arch:AVX");
        }
        for file in SIMD64 {
            avx.file(src.join(file));
        }
        objects.extend(avx.compile_intermediates());
    }

    let mut lib = base;
    for flag in &cpu_flags {
        lib.flag(flag);
    }
    if simd && gnu_like && arch == "x86" {
        // The SSE engine on 32-bit x86; libsoxr checks CPUID before using it.
        lib.flag("-msse").flag("-msse2");
    }
    for file in CORE.iter().chain(if simd { SIMD32 } else { &[] }) {
        lib.file(src.join(file));
    }
    lib.objects(objects);
    lib.compile("soxr");

    if target_os != "windows" {
        println!("cargo:rustc-link-lib=m");
    }
}

/// Writes the `soxr-config.h` that libsoxr's CMake build would generate
/// from `soxr-config.h.in`. Apart from the engine switches, the values are
/// those of soxr-sys 0.1.3 (which the official library uses): no libavcodec,
/// no high-precision clock, `HAVE_LRINT` 0 (x86 GCC/Clang use rint.h's own
/// x87 rounding either way).
fn write_config(path: &Path, simd: bool, big_endian: bool) {
    let flag = |on: bool| u8::from(on);
    let config = format!(
        "/* Generated by soxr-simd-sys/build.rs in place of libsoxr's CMake configure step. */\n\
         #if !defined soxr_config_included\n\
         #define soxr_config_included\n\
         \n\
         #define AVCODEC_FOUND 0\n\
         #define AVUTIL_FOUND 0\n\
         #define WITH_PFFFT {simd}\n\
         \n\
         #define HAVE_FENV_H 1\n\
         #define HAVE_STDBOOL_H 1\n\
         #define HAVE_STDINT_H 1\n\
         #define HAVE_LRINT 0\n\
         #define HAVE_BIGENDIAN {big}\n\
         \n\
         #define WITH_CR32 1\n\
         #define WITH_CR32S {simd}\n\
         #define WITH_CR64 1\n\
         #define WITH_CR64S {simd}\n\
         #define WITH_VR32 1\n\
         \n\
         #define WITH_HI_PREC_CLOCK 0\n\
         #define WITH_FLOAT_STD_PREC_CLOCK 0\n\
         #define WITH_DEV_TRACE 0\n\
         \n\
         #endif\n",
        simd = flag(simd),
        big = flag(big_endian),
    );
    // Rewrite only on change, so the C files are not rebuilt for nothing.
    if fs::read_to_string(path).ok().as_deref() != Some(config.as_str()) {
        fs::write(path, config).unwrap();
    }
}
