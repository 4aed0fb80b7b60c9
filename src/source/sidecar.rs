//! The sidecar convention: for `notes.md`, `notes.md.logprobs.json` or
//! `notes.md.logprobs.jsonl` beside it, the first that exists.

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
}
