//! Shared server state: documents, settings, what the client can do, caches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::SystemTime;

use dashmap::DashMap;
use tower_lsp_server::ls_types::Uri;

use crate::position::Encoding;
use crate::trace::{read_trace_file, Trace, TraceError, DEFAULT_MAX_TRACE_BYTES};

use super::dismissals::Dismissals;
use super::documents::Document;
use super::settings::Settings;

/// What the client said it supports, read once at `initialize`.
#[derive(Debug, Clone, Default)]
pub struct ClientCaps {
    pub work_done_progress: bool,
    pub watched_files_dynamic: bool,
    pub configuration: bool,
    pub semantic_tokens_refresh: bool,
}

pub struct State {
    pub docs: DashMap<Uri, Document>,
    pub settings: RwLock<Settings>,
    pub encoding: RwLock<Encoding>,
    pub caps: RwLock<ClientCaps>,
    pub initialized: AtomicBool,
    pub dismissals: Dismissals,
    pub traces: TraceCache,
    pub results: ResultCache,
    /// A settings problem found before the client could be told (shown at `initialized`).
    pub pending_warning: Mutex<Option<String>>,
    pub progress_ids: AtomicU32,
    /// The scoring endpoint the user configured (flags or `initializationOptions`); workspace
    /// settings cannot change it.
    pub trusted_scoring: RwLock<Option<super::settings::Scoring>>,
    /// The drafting endpoint the user configured (`initializationOptions`), for `hedge.draft`.
    pub trusted_draft: RwLock<Option<super::settings::Draft>>,
    /// The client for it, built on first use.
    pub scorer: Mutex<
        Option<(
            super::settings::Scoring,
            Result<crate::source::http::Scorer, String>,
        )>,
    >,
    /// Where diagnostics are published as text (set when the server is started).
    pub outbox: OnceLock<super::outbox::Outbox>,
}

impl State {
    /// Is the document at `path` (if any) still open with exactly `text`? Scoring asks, to
    /// stop work on a text the user has since changed.
    pub fn still_current(&self, path: Option<&Path>, text: &str) -> bool {
        let Some(path) = path else { return true };
        self.docs.iter().any(|d| {
            // Compared chunk by chunk (and by length first), without copying the document.
            d.path.as_deref() == Some(path) && d.rope == text
        })
    }

    pub fn new(dismissals: Dismissals) -> State {
        State {
            docs: DashMap::new(),
            settings: RwLock::new(Settings::default()),
            encoding: RwLock::new(Encoding::Utf16),
            caps: RwLock::new(ClientCaps::default()),
            initialized: AtomicBool::new(false),
            dismissals,
            traces: TraceCache::default(),
            results: ResultCache::default(),
            pending_warning: Mutex::new(None),
            progress_ids: AtomicU32::new(0),
            trusted_scoring: RwLock::new(None),
            trusted_draft: RwLock::new(None),
            scorer: Mutex::new(None),
            outbox: OnceLock::new(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().expect("settings lock").clone()
    }

    pub fn encoding(&self) -> Encoding {
        *self.encoding.read().expect("encoding lock")
    }

    pub fn caps(&self) -> ClientCaps {
        self.caps.read().expect("caps lock").clone()
    }

    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::SeqCst)
    }
}

/// Parsed traces by path, reused while the file's size and modification time are unchanged, so
/// re-opening a document does not parse its sidecar again.
#[derive(Default)]
pub struct TraceCache {
    entries: Mutex<HashMap<PathBuf, Cached>>,
}

/// A parsed trace with the modification time and size of the file it came from.
type Cached = (SystemTime, u64, Arc<Trace>);

const CACHE_ENTRIES: usize = 16;

impl TraceCache {
    pub fn load(&self, path: &Path) -> Result<Arc<Trace>, TraceError> {
        crate::source::sidecar::check_confined(path).map_err(TraceError::Io)?;
        let meta = std::fs::metadata(path).map_err(|e| TraceError::Io(e.to_string()))?;
        let stamp = (
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if let Some((m, l, t)) = self.entries.lock().expect("cache lock").get(path) {
            if (*m, *l) == stamp {
                return Ok(t.clone());
            }
        }
        let trace = Arc::new(read_trace_file(path, None, DEFAULT_MAX_TRACE_BYTES)?);
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(path.to_path_buf(), (stamp.0, stamp.1, trace.clone()));
        Ok(trace)
    }

    pub fn forget(&self, path: &Path) {
        self.entries.lock().expect("cache lock").remove(path);
    }
}

/// Recent analysis results by [`super::schedule`]'s key, so re-opening a document whose text,
/// sidecar and settings are unchanged publishes at once.
#[derive(Default)]
pub struct ResultCache {
    entries: Mutex<HashMap<u64, super::documents::Live>>,
}

impl ResultCache {
    pub fn get(&self, key: u64) -> Option<super::documents::Live> {
        self.entries
            .lock()
            .expect("results lock")
            .get(&key)
            .cloned()
    }

    pub fn put(&self, key: u64, live: super::documents::Live) {
        let mut entries = self.entries.lock().expect("results lock");
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, live);
    }
}
