//! The sidecar convention: for `notes.md`, `notes.md.logprobs.json` or
//! `notes.md.logprobs.jsonl` beside it, the first that exists.
//!
//! A sidecar is read only when it resolves to a file inside the document's folder: a symbolic
//! link to somewhere else (a repository can ship `notes.md.logprobs.json -> ~/.ssh/config`) is
//! refused unless the user sets `HEDGE_ALLOW_SIDECAR_LINKS=1`. Suffixes never hold a path
//! separator, so a sidecar's name cannot climb out with `..`.

use std::path::{Path, PathBuf};

pub const SUFFIXES: [&str; 2] = [".logprobs.json", ".logprobs.jsonl"];

/// The candidate sidecar paths of a document, in the order they are tried.
pub fn candidates(doc: &Path) -> Vec<PathBuf> {
    SUFFIXES
        .iter()
        .map(|s| {
            let mut name = doc.as_os_str().to_owned();
            name.push(s);
            PathBuf::from(name)
        })
        .collect()
}

/// The sidecar of a document, if one exists.
pub fn find(doc: &Path) -> Option<PathBuf> {
    candidates(doc).into_iter().find(|p| p.is_file())
}

/// The environment variable that lets a sidecar be a link to a file outside its folder.
pub const ALLOW_LINKS_VAR: &str = "HEDGE_ALLOW_SIDECAR_LINKS";

/// Refuse a sidecar that resolves, through symbolic links, to a file outside the folder it
/// sits in (the document's), unless `HEDGE_ALLOW_SIDECAR_LINKS=1`. `Err` is the reason, to
/// follow "cannot be read: ". A sidecar that cannot be resolved is left to the read to report.
pub fn check_confined(sidecar: &Path) -> Result<(), String> {
    if std::env::var_os(ALLOW_LINKS_VAR).is_some_and(|v| v == "1") {
        return Ok(());
    }
    let folder = match sidecar.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (Ok(folder), Ok(target)) = (
        std::fs::canonicalize(folder),
        std::fs::canonicalize(sidecar),
    ) else {
        return Ok(());
    };
    if target.starts_with(&folder) {
        Ok(())
    } else {
        Err(format!(
            "it links to a file outside the document's folder (set {ALLOW_LINKS_VAR}=1 to read such links)"
        ))
    }
}

/// Is this path itself a sidecar (so `hedge check *` does not treat it as a document)?
pub fn is_sidecar(path: &Path) -> bool {
    let name = path.to_string_lossy();
    SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_before_jsonl() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("notes.md");
        assert_eq!(find(&doc), None);
        std::fs::write(dir.path().join("notes.md.logprobs.jsonl"), "").unwrap();
        assert_eq!(find(&doc), Some(dir.path().join("notes.md.logprobs.jsonl")));
        std::fs::write(dir.path().join("notes.md.logprobs.json"), "").unwrap();
        assert_eq!(find(&doc), Some(dir.path().join("notes.md.logprobs.json")));
        assert!(is_sidecar(&dir.path().join("notes.md.logprobs.json")));
        assert!(!is_sidecar(&doc));
    }

    #[cfg(unix)]
    #[test]
    fn links_stay_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (ws, outside) = (dir.path().join("ws"), dir.path().join("secret.json"));
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::write(&outside, "{}").unwrap();
        std::fs::write(ws.join("sub/real.json"), "{}").unwrap();
        let inside = ws.join("a.md.logprobs.json");
        std::os::unix::fs::symlink("sub/real.json", &inside).unwrap();
        assert_eq!(check_confined(&inside), Ok(()));
        let escaping = ws.join("b.md.logprobs.json");
        std::os::unix::fs::symlink("../secret.json", &escaping).unwrap();
        assert_eq!(
            check_confined(&escaping),
            Err("it links to a file outside the document's folder (set HEDGE_ALLOW_SIDECAR_LINKS=1 to read such links)".into())
        );
        // A dangling link is left to the read, which says it cannot be found.
        let dangling = ws.join("c.md.logprobs.json");
        std::os::unix::fs::symlink("../nothing.json", &dangling).unwrap();
        assert_eq!(check_confined(&dangling), Ok(()));
    }
}
