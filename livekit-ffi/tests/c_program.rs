//! Builds `tests/c/roundtrip.c` against the checked-in header and the
//! cdylib cargo just built, and runs it.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn c_program_round_trips_a_request() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // `cargo test` builds the cdylib next to the test binaries, in
    // target/<profile>/deps (the copy one level up is only refreshed by
    // `cargo build`).
    let exe = std::env::current_exe().unwrap();
    let lib_dir = exe.parent().unwrap().to_path_buf();
    assert!(
        lib_dir.join("liblivekit_ffi.so").exists(),
        "cdylib not found in {}",
        lib_dir.display()
    );
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_roundtrip");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(root.join("tests/c/roundtrip.c"))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg("-llivekit_ffi")
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(
        status.success(),
        "the C program compiles against the header"
    );
    let output = Command::new(&out)
        .env("LD_LIBRARY_PATH", &lib_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "C program failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
