//! Dismissed findings, remembered across restarts without touching the document.
//!
//! Stored as JSON in `$HEDGE_STATE_DIR/dismissed.json`, else `$XDG_STATE_HOME/hedge/`, else
//! `~/.local/state/hedge/`. A finding is identified by the document's path, its code and its
//! text, so a dismissal survives edits elsewhere in the file and a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Dismissals {
    path: Option<PathBuf>,
    map: Mutex<BTreeMap<String, BTreeSet<(String, String)>>>,
}

pub fn default_path() -> Option<PathBuf> {
    let dir = if let Some(d) = std::env::var_os("HEDGE_STATE_DIR").filter(|d| !d.is_empty()) {
        PathBuf::from(d)
    } else if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        PathBuf::from(d).join("hedge")
    } else {
        PathBuf::from(std::env::var_os("HOME")?).join(".local/state/hedge")
    };
    Some(dir.join("dismissed.json"))
}

impl Dismissals {
    /// Load from `path` (a missing or unreadable file means nothing dismissed yet).
    pub fn load(path: Option<PathBuf>) -> Dismissals {
        let map = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Dismissals {
            path,
            map: Mutex::new(map),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn is_dismissed(&self, doc: &str, code: &str, text: &str) -> bool {
        let map = self.map.lock().expect("dismissals lock");
        map.get(doc)
            .is_some_and(|s| s.contains(&(code.to_string(), text.to_string())))
    }

    /// A document's dismissals as (code, text) pairs, or `None` when it has none.
    pub fn of(&self, doc: &str) -> Option<BTreeSet<(String, String)>> {
        let map = self.map.lock().expect("dismissals lock");
        map.get(doc).filter(|s| !s.is_empty()).cloned()
    }

    /// Remember dismissals and write the file (atomically: a temporary file, then rename).
    pub fn dismiss(
        &self,
        doc: &str,
        entries: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), String> {
        let snapshot = {
            let mut map = self.map.lock().expect("dismissals lock");
            map.entry(doc.to_string()).or_default().extend(entries);
            serde_json::to_vec_pretty(&*map).map_err(|e| e.to_string())?
        };
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, snapshot).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/dismissed.json");
        let d = Dismissals::load(Some(path.clone()));
        d.dismiss("/a.md", [("low-probability".into(), "1867".into())])
            .unwrap();
        let again = Dismissals::load(Some(path));
        assert!(again.is_dismissed("/a.md", "low-probability", "1867"));
        assert!(!again.is_dismissed("/a.md", "low-probability", "1868"));
        assert!(!again.is_dismissed("/b.md", "low-probability", "1867"));
    }
}
