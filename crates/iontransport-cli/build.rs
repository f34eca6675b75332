//! Records which source the binary was built from (`IONTRANSPORT_BUILD`): the study's unit
//! files carry it, so that a study run over several sessions or machines says which build
//! produced each number. Outside a git checkout (a packaged crate) it is the version alone.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let build = match git(&["rev-parse", "--short=7", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            // Uncommitted changes to tracked files make the commit name a lie: say so.
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!(
                "{version} ({commit}{})",
                if dirty { "+changes" } else { "" }
            )
        }
        _ => version,
    };
    println!("cargo:rustc-env=IONTRANSPORT_BUILD={build}");
    // Rerun when HEAD moves or any workspace source changes (the dirty mark follows them).
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
        if let Some(top) = git(&["rev-parse", "--show-toplevel"]) {
            println!("cargo:rerun-if-changed={top}/crates");
        }
    }
}
