//! Scoring documents that have no trace with the user's own GGUF model, inside the server
//! (`scoring: {"server": "local", "model": "PATH.gguf"}`; needs the `local` feature).
//!
//! The model is loaded on first use and kept for the life of the process (one model at a time;
//! documents take turns). A load failure is remembered, so it is reported with every document
//! but tried only once per model path. Scoring stops between steps when the document no longer
//! has the text being scored (edited or closed): the newer text is scheduled anyway.

use std::path::Path;

use crate::trace::Trace;

use super::settings::Settings;
use super::state::State;

/// The `server` name that selects the local model.
pub const LOCAL: &str = "local";

/// What a server built without the feature says.
pub const NOT_BUILT: &str = "this hedge was built without the `local` feature, so it cannot score with a local model; install it with `cargo install --path . --locked --features local`";

/// A warning for settings that ask for a local model this build cannot run (`None`: fine).
pub fn warning(s: &Settings) -> Option<String> {
    let scoring = s.scoring.as_ref()?;
    if scoring.server != LOCAL {
        return None;
    }
    if scoring.model.as_deref().is_none_or(str::is_empty) {
        return Some(
            "hedge: `scoring` with server `local` needs `model`: the path of a GGUF file".into(),
        );
    }
    (!cfg!(feature = "local")).then(|| format!("hedge: {NOT_BUILT}"))
}

/// Score `text` with the local model named in the settings. `Err` is the reason, one line.
pub fn score(
    state: &State,
    settings: &Settings,
    path: Option<&Path>,
    text: &str,
) -> Result<Trace, String> {
    let model = settings
        .scoring
        .as_ref()
        .and_then(|s| s.model.as_deref())
        .filter(|m| !m.is_empty())
        .ok_or("`scoring` with server `local` needs `model`: the path of a GGUF file")?;
    let mut cancelled = || !state.still_current(path, text);
    run(Path::new(model), text, &mut cancelled)
}

#[cfg(feature = "local")]
fn run(model: &Path, text: &str, cancelled: &mut dyn FnMut() -> bool) -> Result<Trace, String> {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use crate::source::local::LocalModel;

    type Slot = Option<(PathBuf, Result<LocalModel, String>)>;
    static LOADED: Mutex<Slot> = Mutex::new(None);
    let mut slot = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if slot.as_ref().is_none_or(|(p, _)| p != model) {
        *slot = None;
        *slot = Some((model.to_path_buf(), LocalModel::load(model)));
    }
    let Some((_, loaded)) = slot.as_mut() else {
        unreachable!("loaded above")
    };
    let m = loaded.as_mut().map_err(|e| e.clone())?;
    if cancelled() {
        return Err("scoring was cancelled".into());
    }
    m.score_with_progress(text, None, &mut |_, _| !cancelled())
}

#[cfg(not(feature = "local"))]
fn run(_model: &Path, _text: &str, _cancelled: &mut dyn FnMut() -> bool) -> Result<Trace, String> {
    Err(NOT_BUILT.into())
}
