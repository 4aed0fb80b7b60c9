//! The embedded local scorer from the command line (`hedge score --model GGUF`,
//! `hedge check --model GGUF`). Without the `local` feature every entry point says how to get it.

use std::path::Path;

use hedge::trace::Trace;

/// What a hedge built without the `local` feature says when asked for a local model.
#[cfg_attr(feature = "local", allow(dead_code))]
pub const NOT_BUILT: &str = "this hedge was built without the `local` feature; rebuild with `cargo build --release --features local`";

/// `Err` when a local model is asked for and this hedge cannot run one.
pub fn require(model: Option<&Path>) -> Result<(), String> {
    match model {
        Some(_) if !cfg!(feature = "local") => Err(NOT_BUILT.into()),
        _ => Ok(()),
    }
}

/// Scored text and how long it took.
#[cfg_attr(not(feature = "local"), allow(dead_code))]
pub struct Scored {
    pub trace: Trace,
    pub seconds: f64,
    pub evaluated_tokens: usize,
}

/// Score `text` (after `context`) with the GGUF model at `model`. The model is loaded once per
/// process and kept, so several documents share it.
#[cfg(feature = "local")]
pub fn score(model: &Path, text: &str, context: Option<&str>) -> Result<Scored, String> {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use hedge::source::local::LocalModel;

    static LOADED: Mutex<Option<(PathBuf, LocalModel)>> = Mutex::new(None);
    let mut slot = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if slot.as_ref().is_none_or(|(p, _)| p != model) {
        *slot = None;
        *slot = Some((model.to_path_buf(), LocalModel::load(model)?));
    }
    let (_, m) = slot.as_mut().expect("loaded above");
    let started = std::time::Instant::now();
    let trace = m.score(text, context)?;
    Ok(Scored {
        trace,
        seconds: started.elapsed().as_secs_f64(),
        evaluated_tokens: m.last_stats().evaluated_tokens,
    })
}

#[cfg(not(feature = "local"))]
pub fn score(_model: &Path, _text: &str, _context: Option<&str>) -> Result<Scored, String> {
    Err(NOT_BUILT.into())
}
