//! Analysis off the handlers: find and read the trace, run the engine, store the result if the
//! document is still at the version it was started for, and publish.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{ProgressToken, Uri};
use tower_lsp_server::Client;

use crate::analysis::{analyze, AnalysisError};
use crate::source::api_key::ApiKey;
use crate::source::http::{Endpoint, ScoreOptions, Scorer, ServerKind};
use crate::source::inline;
use crate::trace::Trace;

use super::documents::{Live, TraceStatus};
use super::settings::{Scoring, Settings};
use super::state::State;

/// Pause after the last edit before the document is re-aligned with its trace.
pub const DEBOUNCE: Duration = Duration::from_millis(250);
/// Work that takes longer than this shows progress in clients that support it.
const PROGRESS_AFTER: Duration = Duration::from_millis(200);

pub struct Outcome {
    status: TraceStatus,
    live: Option<Live>,
    trace_path: Option<PathBuf>,
}

/// The sidecar of a document under the configured suffixes.
pub fn sidecar_of(path: &Path, settings: &Settings) -> Option<PathBuf> {
    settings.sidecar_suffixes.iter().find_map(|s| {
        let mut name = path.as_os_str().to_owned();
        name.push(s);
        let p = PathBuf::from(name);
        p.is_file().then_some(p)
    })
}

fn run_engine(state: &State, path: Option<&Path>, text: &str, settings: &Settings) -> Outcome {
    let none = |status| Outcome {
        status,
        live: None,
        trace_path: None,
    };
    if text.len() > settings.max_document_bytes {
        return none(TraceStatus::Error {
            code: "document-too-large",
            message: format!(
                "hedge skipped this document: {} bytes is over maxDocumentBytes ({})",
                text.len(),
                settings.max_document_bytes
            ),
        });
    }
    let Some(trace_path) = path.and_then(|p| sidecar_of(p, settings)) else {
        // A saved response or log opened directly is its own trace.
        let is_response = path
            .and_then(|p| p.extension())
            .is_some_and(|e| e == "json" || e == "jsonl");
        if is_response {
            if let Ok((trace, a)) =
                inline::analyze_file(text, &settings.engine, &Default::default())
            {
                return Outcome {
                    status: TraceStatus::Ready,
                    live: Some(Live::new(Arc::new(trace), Arc::new(a), text)),
                    trace_path: None,
                };
            }
        }
        if let Some(scoring) = &settings.scoring {
            return score_over_http(state, scoring, path, text, settings);
        }
        return none(TraceStatus::None);
    };
    let shown = trace_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trace = match state.traces.load(&trace_path) {
        Ok(t) => t,
        Err(e) => {
            return Outcome {
                status: TraceStatus::Error {
                    code: "trace-error",
                    message: format!("hedge: {shown}: {e}"),
                },
                live: None,
                trace_path: Some(trace_path),
            }
        }
    };
    // Re-opening an unchanged document with an unchanged sidecar reuses the last result.
    let key = result_key(&trace, text, settings);
    if let Some(live) = state.results.get(key) {
        return Outcome {
            status: TraceStatus::Ready,
            live: Some(live),
            trace_path: Some(trace_path),
        };
    }
    match analyze(text, &trace, &settings.engine) {
        Ok(a) => {
            let live = Live::new(trace, Arc::new(a), text);
            state.results.put(key, live.clone());
            Outcome {
                status: TraceStatus::Ready,
                live: Some(live),
                trace_path: Some(trace_path),
            }
        }
        Err(e) => {
            let code = match e {
                AnalysisError::LowCoverage { .. } => "trace-mismatch",
                AnalysisError::NoData { .. } => "trace-error",
            };
            Outcome {
                status: TraceStatus::Error {
                    code,
                    message: format!("hedge: {shown}: {e}"),
                },
                live: None,
                trace_path: Some(trace_path),
            }
        }
    }
}

/// The scoring client for the configured endpoint (built once per configuration).
fn scorer_for(state: &State, scoring: &Scoring) -> Result<Scorer, String> {
    let mut slot = state.scorer.lock().expect("scorer lock");
    if let Some((s, built)) = slot.as_ref() {
        if s == scoring {
            return built.clone();
        }
    }
    let built = (|| {
        let kind = ServerKind::from_name(&scoring.server).ok_or_else(|| {
            format!(
                "unknown scoring server `{}` (vllm, llama-cpp-python, tgi, sglang, together, fireworks)",
                scoring.server
            )
        })?;
        let endpoint =
            Endpoint::new(kind, &scoring.endpoint, scoring.model.clone()).map_err(|e| e.message)?;
        let key = match &scoring.api_key_env {
            Some(var) => Some(ApiKey::from_env(var).map_err(|e| e.message)?),
            None => None,
        };
        Scorer::new(endpoint, key, ScoreOptions::default()).map_err(|e| e.message)
    })();
    *slot = Some((scoring.clone(), built.clone()));
    built
}

/// Score a document that has no trace with the user's scoring server (or local model), then
/// analyse it. Runs on a blocking thread of the server's runtime; a failure becomes one
/// diagnostic at the top.
fn score_over_http(
    state: &State,
    scoring: &Scoring,
    path: Option<&Path>,
    text: &str,
    settings: &Settings,
) -> Outcome {
    let fail = |message: String| Outcome {
        status: TraceStatus::Error {
            code: "scoring-error",
            message: format!("hedge: scoring failed: {message}"),
        },
        live: None,
        trace_path: None,
    };
    let scored = if scoring.server == super::local_scoring::LOCAL {
        super::local_scoring::score(state, settings, path, text)
    } else {
        match scorer_for(state, scoring) {
            Ok(scorer) => tokio::runtime::Handle::current().block_on(async {
                // Dropping the scoring stops its requests; chunks already scored stay in the
                // cache for the next text.
                tokio::select! {
                    scored = scorer.score(text, None, &|_| {}) => {
                        scored.map(|s| s.trace).map_err(|e| e.message)
                    }
                    () = changed(state, path, text) => Err("scoring was cancelled".into()),
                }
            }),
            Err(e) => Err(e),
        }
    };
    let trace = match scored {
        Ok(t) => Arc::new(t),
        Err(e) => return fail(e),
    };
    match analyze(text, &trace, &settings.engine) {
        Ok(a) => Outcome {
            status: TraceStatus::Ready,
            live: Some(Live::new(trace, Arc::new(a), text)),
            trace_path: None,
        },
        Err(e) => fail(e.to_string()),
    }
}

/// Resolves once the document no longer has `text` (edited or closed), checked every 100 ms.
async fn changed(state: &State, path: Option<&Path>, text: &str) {
    while state.still_current(path, text) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Identifies one analysis: the parsed trace (a new parse is a new `Arc`), the text and the
/// engine settings.
fn result_key(trace: &Arc<Trace>, text: &str, settings: &Settings) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (Arc::as_ptr(trace) as usize).hash(&mut h);
    text.hash(&mut h);
    serde_json::to_string(&settings.engine)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

/// Analyse a document in the background (after `delay`, if any), then publish. Stale work —
/// the document changed or closed meanwhile — is dropped.
pub fn schedule(client: Client, state: Arc<State>, uri: Uri, delay: Option<Duration>) {
    let Some(version) = state.docs.get(&uri).map(|d| d.version) else {
        return;
    };
    tokio::spawn(async move {
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        let Some((text, path)) = state
            .docs
            .get(&uri)
            .filter(|d| d.version == version)
            .map(|d| (d.text(), d.path.clone()))
        else {
            return;
        };
        let settings = state.settings();
        let st = state.clone();
        let mut job =
            tokio::task::spawn_blocking(move || run_engine(&st, path.as_deref(), &text, &settings));
        let outcome = tokio::select! {
            r = &mut job => r,
            _ = tokio::time::sleep(PROGRESS_AFTER) => {
                let name = uri.as_str().rsplit('/').next().unwrap_or("").to_string();
                let progress =
                    begin_progress(&client, &state, "analyse", format!("analysing {name}")).await;
                let r = job.await;
                if let Some(p) = progress {
                    p.finish().await;
                }
                r
            }
        };
        let Ok(outcome) = outcome else { return };
        {
            let Some(mut doc) = state.docs.get_mut(&uri) else {
                return;
            };
            if doc.version != version {
                return;
            }
            doc.status = outcome.status;
            doc.live = outcome.live;
            doc.trace_path = outcome.trace_path;
        }
        super::diagnostics::publish(&client, &state, &uri).await;
    });
}

/// Start a progress report titled "hedge" with `message`, when the client supports it; its
/// token is `hedge/{what}/{n}`. Shared by analysis and drafting.
pub(super) async fn begin_progress(
    client: &Client,
    state: &State,
    what: &str,
    message: String,
) -> Option<
    tower_lsp_server::OngoingProgress<
        tower_lsp_server::Unbounded,
        tower_lsp_server::NotCancellable,
    >,
> {
    if !state.caps().work_done_progress || !state.is_initialized() {
        return None;
    }
    let n = state.progress_ids.fetch_add(1, Ordering::SeqCst);
    let token = ProgressToken::String(format!("hedge/{what}/{n}"));
    client.create_work_done_progress(token.clone()).await.ok()?;
    Some(
        client
            .progress(token, "hedge")
            .with_message(message)
            .begin()
            .await,
    )
}
