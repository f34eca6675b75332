//! Output paths checked before any work starts (a 5-minute run must not fail at its last
//! step because the folder does not exist), and never an input overwritten by an output.

use crate::error::{CliError, Result};
use std::path::{Path, PathBuf};

/// The absolute form of a path that may not exist yet (its folder must).
fn absolute(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = parent.unwrap_or(Path::new(".")).canonicalize().ok()?;
    Some(dir.join(path.file_name()?))
}

/// Checks that `path` can be written as a file: its folder exists and accepts a new file,
/// it is not a folder, and it is none of `inputs` (any path the command reads).
pub fn check_output_file(path: &Path, inputs: &[&Path]) -> Result<()> {
    let fail = |reason: String| CliError::Output {
        path: path.display().to_string(),
        reason,
    };
    // `dir/` has the file name `dir` to std::path, but no file can be written under it.
    let text = path.as_os_str().to_string_lossy();
    if path.file_name().is_none()
        || text.ends_with('/')
        || text.ends_with(std::path::MAIN_SEPARATOR)
    {
        return Err(fail(
            "ends in a folder separator or names no file; give a file name, e.g. model.json".into(),
        ));
    }
    if path.is_dir() {
        return Err(fail("is a folder; give a file name".into()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(fail(format!(
            "the folder {} does not exist (create it first)",
            dir.display()
        )));
    }
    np_transport::data::probe_writable(dir)
        .map_err(|e| fail(format!("cannot write in {}: {e}", dir.display())))?;
    let me = absolute(path);
    for input in inputs {
        if me.is_some() && absolute(input) == me {
            return Err(fail(format!(
                "is also an input ({}); choose another output name",
                input.display()
            )));
        }
    }
    Ok(())
}

/// Checks that an input file exists and is a file.
pub fn check_input_file(path: &Path) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(CliError::Input {
            path: path.display().to_string(),
            reason: if path.exists() {
                "is not a file".into()
            } else {
                "does not exist".into()
            },
        })
    }
}

/// Creates the output folder `dir` if needed and checks that files can be written in it;
/// returns whether it was created (so that a failed run can remove it again).
pub fn prepare_output_folder(dir: &Path) -> Result<bool> {
    let fail = |reason: String| CliError::Output {
        path: dir.display().to_string(),
        reason,
    };
    let created = !dir.exists();
    if dir.exists() && !dir.is_dir() {
        return Err(fail("exists and is not a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create: {e}")))?;
    if let Err(e) = np_transport::data::probe_writable(dir) {
        if created {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(fail(format!("cannot write in it: {e}")));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_checked_before_work_starts() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("data.csv");
        std::fs::write(&input, "x").unwrap();
        let ok = dir.path().join("model.json");
        check_output_file(&ok, &[&input]).unwrap();
        let e = check_output_file(&input, &[&input])
            .unwrap_err()
            .to_string();
        assert!(e.contains("also an input"), "{e}");
        // The same file under another spelling.
        let other = dir.path().join(".").join("data.csv");
        let e = check_output_file(&other, &[&input])
            .unwrap_err()
            .to_string();
        assert!(e.contains("also an input"), "{e}");
        // A folder-like name that does not exist yet: refused before any work.
        let e = check_output_file(&dir.path().join("new-folder/"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("give a file name"), "{e}");
        let e = check_output_file(&dir.path().join("no/such/m.json"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_output_file(dir.path(), &[]).unwrap_err().to_string();
        assert!(e.contains("folder"), "{e}");
        assert!(check_input_file(&dir.path().join("typo.csv")).is_err());
        let results = dir.path().join("results");
        assert!(prepare_output_folder(&results).unwrap());
        assert!(!prepare_output_folder(&results).unwrap());
        assert!(prepare_output_folder(&input).is_err());
    }
}
