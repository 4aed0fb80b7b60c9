//! `hedge.draft`: ask the user's chat endpoint for an answer with logprobs, insert it at the
//! cursor as a workspace edit, keep the raw response as the document's sidecar, and analyse the
//! document at once.
//!
//! The endpoint comes only from user-level settings (`initializationOptions`), like `scoring`: a
//! workspace's settings cannot make hedge send a prompt anywhere.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{Position, Range, TextEdit, Uri, WorkspaceEdit};
use tower_lsp_server::Client;

use crate::source::draft::{draft, write_sidecar, DraftRequest};
use crate::source::transport::{ApiKey, HttpOptions};

use super::settings::{Draft, Settings};
use super::state::State;

/// Insert a model's answer at a position: arguments `[uri, position, prompt]`.
pub const DRAFT: &str = "hedge.draft";

/// The commands this module answers.
pub const COMMANDS: [&str; 1] = [DRAFT];

/// How long to wait, after the editor applied the edit, for its didChange to carry the answer.
const EDIT_ARRIVES: Duration = Duration::from_secs(5);

fn invalid(msg: impl Into<String>) -> Error {
    Error::invalid_params(msg.into())
}

/// A request that could not be carried out (LSP's RequestFailed).
fn failed(msg: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::ServerError(-32803),
        message: msg.into().into(),
        data: None,
    }
}

/// Keep the user's `draft` endpoint; one from a workspace is dropped with the warning returned.
/// Called whenever settings arrive; `trusted`: they came from `initializationOptions`.
pub fn trust_draft(state: &State, s: &mut Settings, trusted: bool) -> Option<String> {
    let mut slot = state.trusted_draft.write().expect("draft lock");
    let mut warning = None;
    if trusted {
        if s.draft.is_some() {
            *slot = s.draft.clone();
        }
    } else if s.draft.is_some() {
        warning = Some(
            "hedge: `draft` from workspace settings is ignored: a drafting endpoint is taken only \
             from user settings"
                .to_string(),
        );
    }
    s.draft = slot.clone();
    warning
}

/// The arguments of `hedge.draft`.
fn draft_args(args: &[Value]) -> Result<(Uri, Position, String)> {
    let usage = "expected [uri, position, prompt]";
    let uri = args
        .first()
        .and_then(Value::as_str)
        .and_then(|u| u.parse::<Uri>().ok())
        .ok_or_else(|| {
            invalid(format!(
                "{usage}: the first argument must be a document URI"
            ))
        })?;
    let position: Position = args
        .get(1)
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .ok_or_else(|| {
            invalid(format!(
                "{usage}: the second argument must be a position {{\"line\", \"character\"}}"
            ))
        })?;
    let prompt = args
        .get(2)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{usage}: the third argument must be the prompt")))?;
    if prompt.trim().is_empty() {
        return Err(invalid("the prompt is empty"));
    }
    Ok((uri, position, prompt.to_string()))
}

fn request_of(cfg: &Draft, prompt: String) -> DraftRequest {
    let mut req = DraftRequest::new(cfg.endpoint.clone(), prompt);
    req.model = cfg.model.clone();
    req.system = cfg.system.clone();
    req.max_tokens = Some(cfg.max_tokens.unwrap_or(512));
    req.temperature = cfg.temperature;
    req.seed = cfg.seed;
    req
}

fn http_options(cfg: &Draft) -> std::result::Result<HttpOptions, String> {
    let defaults = HttpOptions::default();
    match cfg.timeout {
        None => Ok(defaults),
        Some(t) if t.is_finite() && t > 0.0 => {
            let timeout = Duration::from_secs_f64(t);
            Ok(HttpOptions {
                timeout,
                connect_timeout: defaults.connect_timeout.min(timeout),
                ..defaults
            })
        }
        Some(_) => Err("`draft.timeout` must be a positive number of seconds".into()),
    }
}

/// `hedge.draft [uri, position, prompt]`. Answers `{"sidecar", "tokens", "finishReason"}`
/// once the answer is in the document and its sidecar written; an error names what went wrong
/// (nothing is written then).
pub async fn draft_at(client: &Client, state: &Arc<State>, args: &[Value]) -> Result<Value> {
    let (uri, position, prompt) = draft_args(args)?;
    let settings = state.settings();
    let Some(cfg) = settings.draft.clone() else {
        return Err(failed(
            "hedge: no drafting endpoint is configured: set `draft` ({\"endpoint\": \"http://127.0.0.1:8080/v1\"}) in the user settings of hedge (initializationOptions)",
        ));
    };
    let path: PathBuf = {
        let Some(doc) = state.docs.get(&uri) else {
            return Err(invalid("that document is not open"));
        };
        let file = doc
            .path
            .clone()
            .filter(|p| uri.as_str().starts_with("file:") && p.is_absolute());
        let Some(path) = file else {
            return Err(failed(
                "hedge: the document has no file name; save it first (its logprobs are kept beside it)",
            ));
        };
        path
    };
    if let Some(existing) = super::schedule::sidecar_of(&path, &settings) {
        return Err(failed(format!(
            "hedge: {}: the document already has a trace; hedge does not overwrite files",
            existing.display()
        )));
    }
    let http = http_options(&cfg).map_err(|e| failed(format!("hedge: {e}")))?;
    let key = match &cfg.api_key_env {
        Some(var) => Some(ApiKey::from_env(var).map_err(|e| failed(format!("hedge: {e}")))?),
        None => None,
    };
    let req = request_of(&cfg, prompt);

    let progress =
        super::schedule::begin_progress(client, state, "draft", "waiting for the model".into())
            .await;
    let got = draft(&req, key, &http).await;
    if let Some(p) = progress {
        p.finish().await;
    }
    let d = got.map_err(|e| failed(format!("hedge: drafting failed: {e}")))?;
    if d.text.is_empty() {
        return Err(failed("hedge: the model answered with no text"));
    }
    let sidecar = write_sidecar(&path, &d.raw).map_err(|e| failed(format!("hedge: {e}")))?;

    let edit = WorkspaceEdit {
        changes: Some(HashMap::from([(
            uri.clone(),
            vec![TextEdit {
                range: Range::new(position, position),
                new_text: d.text.clone(),
            }],
        )])),
        ..WorkspaceEdit::default()
    };
    let before = state.docs.get(&uri).map(|doc| doc.version);
    let applied = client.apply_edit(edit).await;
    let refused = match applied {
        Ok(r) if r.applied => None,
        Ok(r) => Some(r.failure_reason.unwrap_or_else(|| "no reason given".into())),
        Err(e) => Some(e.message.to_string()),
    };
    if let Some(why) = refused {
        // The sidecar is ours (created just now): without the text it would only mislead.
        let _ = std::fs::remove_file(&sidecar);
        return Err(failed(format!(
            "hedge: the editor did not insert the draft ({why})"
        )));
    }

    // Editors send the change before or after answering; wait for it, briefly.
    let deadline = Instant::now() + EDIT_ARRIVES;
    while Instant::now() < deadline {
        let arrived = state
            .docs
            .get(&uri)
            .is_none_or(|doc| Some(doc.version) != before && doc.text().contains(&d.text));
        if arrived {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    state.traces.forget(&sidecar);
    super::schedule::schedule(client.clone(), state.clone(), uri, None);
    Ok(json!({
        "sidecar": sidecar.display().to_string(),
        "tokens": d.trace.tokens.len(),
        "finishReason": d.finish_reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        let e = draft_args(&[json!("file:///a.md"), json!({"line": 0})]).unwrap_err();
        assert_eq!(
            e.message,
            "expected [uri, position, prompt]: the second argument must be a position {\"line\", \"character\"}"
        );
        let e = draft_args(&[
            json!("file:///a.md"),
            json!({"line": 0, "character": 2}),
            json!("  "),
        ])
        .unwrap_err();
        assert_eq!(e.message, "the prompt is empty");
        let (u, p, s) = draft_args(&[
            json!("file:///a.md"),
            json!({"line": 3, "character": 2}),
            json!("Hi"),
        ])
        .unwrap();
        assert_eq!(
            (u.as_str(), p, s.as_str()),
            ("file:///a.md", Position::new(3, 2), "Hi")
        );
    }

    #[test]
    fn request_has_the_users_options() {
        let cfg = Draft {
            endpoint: "http://127.0.0.1:1/v1".into(),
            model: Some("m".into()),
            api_key_env: None,
            system: Some("Be brief.".into()),
            max_tokens: None,
            temperature: Some(0.0),
            seed: Some(1),
            timeout: Some(-1.0),
        };
        let b = request_of(&cfg, "Hi".into()).body();
        assert_eq!(b["max_tokens"], 512);
        assert_eq!(b["messages"][0]["content"], "Be brief.");
        assert_eq!(b["top_logprobs"], 20);
        assert_eq!(
            http_options(&cfg).unwrap_err(),
            "`draft.timeout` must be a positive number of seconds"
        );
    }
}
