//! Compiles `protos/` with protox (no system protoc needed) and keeps the
//! descriptor set so tests can compare it with the official wheel's.

use std::path::PathBuf;

fn main() {
    // Fold identical functions (many generic instantiations are byte-identical).
    println!("cargo:rustc-cdylib-link-arg=-Wl,--icf=all");
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protos");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&proto_dir)
        .expect("protos/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let descriptors = protox::compile(&files, [&proto_dir]).expect("compile protos");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(
        out.join("descriptors.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )
    .unwrap();
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("generate rust from protos");
}
