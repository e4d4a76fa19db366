//! Size of each library after `strip`, measured on a temporary copy so the
//! original files (and anything holding them open) are left untouched.

use std::process::Command;

/// Stripped size in MB (MiB), or why it could not be measured.
pub fn stripped_mb(path: &str, tag: &str) -> Result<f64, String> {
    let tmp = std::env::temp_dir().join(format!("livekit-bench-{}-{tag}.so", std::process::id()));
    std::fs::copy(path, &tmp).map_err(|e| format!("copy {path}: {e}"))?;
    let result = Command::new("strip")
        .arg(&tmp)
        .status()
        .map_err(|e| format!("run strip: {e}"))
        .and_then(|st| {
            if st.success() {
                Ok(())
            } else {
                Err(format!("strip failed: {st}"))
            }
        })
        .and_then(|()| std::fs::metadata(&tmp).map_err(|e| e.to_string()))
        .map(|m| m.len() as f64 / (1024.0 * 1024.0));
    let _ = std::fs::remove_file(&tmp);
    result
}
