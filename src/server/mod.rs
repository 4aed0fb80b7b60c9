//! `hedge lsp`: the language server. This file wires the protocol to the concern modules.
//!
//! tower-lsp-server runs up to four handlers at once, so a handler that awaits before it
//! changes state can be overtaken by a later notification (edits applied out of order). Every
//! didOpen/didChange/didClose therefore changes the document synchronously, first thing, and
//! slow work (reading sidecars, analysis, requests to the client) is spawned and checks the
//! document version when it finishes.

pub mod actions;
pub mod commands;
pub mod diagnostics;
pub mod dismissals;
pub mod documents;
pub mod frames;
pub mod hover;
pub mod local_scoring;
pub mod outbox;
pub mod position;
pub mod schedule;
pub mod semantic;
pub mod settings;
pub mod state;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::position::Encoding;
use documents::Document;
use settings::Settings;
use state::{ClientCaps, State};

pub struct Backend {
    client: Client,
    state: Arc<State>,
}

impl Backend {
    pub fn new(client: Client, state: Arc<State>) -> Backend {
        Backend { client, state }
    }

    fn schedule(&self, uri: &Uri, delay: Option<std::time::Duration>) {
        schedule::schedule(self.client.clone(), self.state.clone(), uri.clone(), delay);
    }

    fn schedule_all(&self) {
        let uris: Vec<Uri> = self.state.docs.iter().map(|d| d.key().clone()).collect();
        for uri in uris {
            self.schedule(&uri, None);
        }
    }

    /// Apply settings; a problem is reported and the previous settings are kept.
    /// `trusted`: the value came from the user's own settings (`initializationOptions`), not
    /// from a workspace, so it may name a scoring endpoint.
    fn apply_settings(&self, value: &Value, trusted: bool) -> Option<String> {
        match Settings::from_json(value) {
            Ok(mut s) => {
                let mut warning = None;
                let mut trusted_scoring = self.state.trusted_scoring.write().expect("scoring lock");
                if trusted {
                    if s.scoring.is_some() {
                        *trusted_scoring = s.scoring.clone();
                    }
                } else if s.scoring.is_some() {
                    warning = Some(
                        "hedge: `scoring` from workspace settings is ignored: a scoring endpoint \
                         is taken only from user settings or `hedge lsp --endpoint`"
                            .to_string(),
                    );
                }
                s.scoring = trusted_scoring.clone();
                let local = trusted.then(|| local_scoring::warning(&s)).flatten();
                if let Some(w) = commands::trust_draft(&self.state, &mut s, trusted).or(local) {
                    warning = Some(warning.map_or(w.clone(), |v| format!("{v}; {w}")));
                }
                *self.state.settings.write().expect("settings lock") = s;
                warning
            }
            Err(e) => Some(format!("hedge: settings ignored, defaults kept: {e}")),
        }
    }

    fn warn(&self, msg: String) {
        let client = self.client.clone();
        tokio::spawn(async move { client.show_message(MessageType::WARNING, msg).await });
    }

    /// Ask the client for the `hedge` section and re-analyse (spawned: never awaited in a
    /// handler, which could wedge the server's message loop).
    fn pull_configuration(&self) {
        let (client, state) = (self.client.clone(), self.state.clone());
        tokio::spawn(async move {
            let item = ConfigurationItem {
                scope_uri: None,
                section: Some("hedge".into()),
            };
            let Ok(values) = client.configuration(vec![item]).await else {
                return;
            };
            let value = values.into_iter().next().unwrap_or(Value::Null);
            let backend = Backend::new(client.clone(), state);
            if let Some(w) = backend.apply_settings(&value, false) {
                client.show_message(MessageType::WARNING, w).await;
            }
            backend.refresh_all().await;
        });
    }

    async fn refresh_all(&self) {
        self.schedule_all();
        if self.state.caps().semantic_tokens_refresh {
            let _ = self.client.semantic_tokens_refresh().await;
        }
    }

    fn offset(&self, doc: &Document, pos: Position) -> usize {
        position::offset(&doc.rope, pos, self.state.encoding())
    }
}

/// Parameters of `hedge/summary`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryParams {
    pub text_document: TextDocumentIdentifier,
}

impl Backend {
    /// `hedge/summary`: the document's figures for a status bar (perplexity, findings shown).
    pub async fn summary(&self, params: SummaryParams) -> Result<Value> {
        let uri = params.text_document.uri;
        let Some(doc) = self.state.docs.get(&uri) else {
            return Ok(Value::Null);
        };
        let shown = diagnostics::diagnostics(&self.state, &uri, &doc);
        let status = match &doc.status {
            documents::TraceStatus::Pending => "pending",
            documents::TraceStatus::None => "no-trace",
            documents::TraceStatus::Error { .. } => "error",
            documents::TraceStatus::Ready => "ready",
        };
        let s = doc.live.as_ref().map(|l| &l.analysis.summary);
        Ok(serde_json::json!({
            "status": status,
            "version": doc.version,
            "tokens": s.map(|s| s.tokens),
            "alignedTokens": doc.live.as_ref().map(|l| l.tokens.iter().filter(|t| t.is_some()).count()),
            "perplexity": s.and_then(|s| s.perplexity),
            "meanSurprisalBits": s.and_then(|s| s.mean_surprisal_bits),
            "findings": if matches!(doc.status, documents::TraceStatus::Ready) { shown.len() } else { 0 },
        }))
    }
}

fn client_caps(params: &InitializeParams) -> (ClientCaps, Encoding) {
    let c = &params.capabilities;
    let offered = c
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.clone())
        .unwrap_or_default();
    let enc = if offered.contains(&PositionEncodingKind::UTF8) {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let caps = ClientCaps {
        work_done_progress: c
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
        watched_files_dynamic: c
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false),
        configuration: c
            .workspace
            .as_ref()
            .and_then(|w| w.configuration)
            .unwrap_or(false),
        semantic_tokens_refresh: c
            .workspace
            .as_ref()
            .and_then(|w| w.semantic_tokens.as_ref())
            .and_then(|s| s.refresh_support)
            .unwrap_or(false),
    };
    (caps, enc)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let (caps, enc) = client_caps(&params);
        *self.state.caps.write().expect("caps lock") = caps;
        *self.state.encoding.write().expect("encoding lock") = enc;
        if let Some(opts) = &params.initialization_options {
            *self.state.pending_warning.lock().expect("warning lock") =
                self.apply_settings(opts, true);
        }
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "hedge".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(position::kind_of(enc)),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..CodeActionOptions::default()
                    },
                )),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: (actions::COMMANDS.iter().chain(&commands::COMMANDS))
                        .map(|c| c.to_string())
                        .collect(),
                    ..ExecuteCommandOptions::default()
                }),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: semantic::legend(),
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: Some(true),
                            ..SemanticTokensOptions::default()
                        },
                    ),
                ),
                ..ServerCapabilities::default()
            },
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.state.initialized.store(true, Ordering::SeqCst);
        if let Some(w) = self
            .state
            .pending_warning
            .lock()
            .expect("warning lock")
            .take()
        {
            self.warn(w);
        }
        let caps = self.state.caps();
        if caps.watched_files_dynamic {
            let client = self.client.clone();
            tokio::spawn(async move {
                let watchers = ["**/*.logprobs.json", "**/*.logprobs.jsonl"]
                    .iter()
                    .map(|g| FileSystemWatcher {
                        glob_pattern: GlobPattern::String(g.to_string()),
                        kind: None,
                    })
                    .collect();
                let opts = DidChangeWatchedFilesRegistrationOptions { watchers };
                let reg = Registration {
                    id: "hedge-sidecars".into(),
                    method: "workspace/didChangeWatchedFiles".into(),
                    register_options: serde_json::to_value(opts).ok(),
                };
                let _ = client.register_capability(vec![reg]).await;
            });
        }
        if caps.configuration {
            self.pull_configuration();
        } else {
            self.schedule_all();
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        let path = d.uri.to_file_path().map(|p| p.into_owned());
        self.state.docs.insert(
            d.uri.clone(),
            Document::new(&d.text, d.version, d.language_id, path),
        );
        self.schedule(&d.uri, None);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let enc = self.state.encoding();
        {
            let Some(mut doc) = self.state.docs.get_mut(&uri) else {
                return;
            };
            for change in &params.content_changes {
                doc.apply(change, enc);
            }
            doc.version = params.text_document.version;
        }
        // Shifted findings at once, re-aligned ones after a pause.
        let (client, state, u) = (self.client.clone(), self.state.clone(), uri.clone());
        tokio::spawn(async move { diagnostics::publish(&client, &state, &u).await });
        self.schedule(&uri, Some(schedule::DEBOUNCE));
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        // Without file watching, saving is when a changed sidecar is picked up.
        if let Some(p) = self
            .state
            .docs
            .get(&params.text_document.uri)
            .and_then(|d| d.trace_path.clone())
        {
            self.state.traces.forget(&p);
        }
        self.schedule(&params.text_document.uri, None);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.state.docs.remove(&uri);
        if self.state.is_initialized() {
            let (client, state) = (self.client.clone(), self.state.clone());
            tokio::spawn(async move { diagnostics::clear(&client, &state, uri).await });
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let section = match &params.settings {
            Value::Object(m) if m.contains_key("hedge") => m.get("hedge").cloned(),
            _ => None,
        };
        match section {
            Some(v) => {
                if let Some(w) = self.apply_settings(&v, false) {
                    self.warn(w);
                }
                let (client, state) = (self.client.clone(), self.state.clone());
                tokio::spawn(async move { Backend::new(client, state).refresh_all().await });
            }
            None if self.state.caps().configuration => self.pull_configuration(),
            None => {}
        }
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        for change in params.changes {
            let Some(path) = change.uri.to_file_path().map(|p| p.into_owned()) else {
                continue;
            };
            self.state.traces.forget(&path);
            let settings = self.state.settings();
            let affected: Vec<Uri> = self
                .state
                .docs
                .iter()
                .filter(|d| {
                    d.path.as_ref().is_some_and(|dp| {
                        settings.sidecar_suffixes.iter().any(|s| {
                            let mut n = dp.as_os_str().to_owned();
                            n.push(s);
                            std::path::Path::new(&n) == path
                        })
                    })
                })
                .map(|d| d.key().clone())
                .collect();
            for uri in affected {
                self.schedule(&uri, None);
            }
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let Some(doc) = self.state.docs.get(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = self.offset(&doc, p.position);
        Ok(hover::hover_markdown(&doc, offset).map(|(md, span)| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: md,
            }),
            range: Some(position::range(&doc.rope, &span, self.state.encoding())),
        }))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some(doc) = self.state.docs.get(&params.text_document.uri) else {
            return Ok(None);
        };
        let data = if self.state.settings().heatmap {
            semantic::tokens(&doc, 0..usize::MAX, self.state.encoding())
        } else {
            Vec::new()
        };
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let Some(doc) = self.state.docs.get(&params.text_document.uri) else {
            return Ok(None);
        };
        let data = if self.state.settings().heatmap {
            let r = self.offset(&doc, params.range.start)..self.offset(&doc, params.range.end);
            semantic::tokens(&doc, r, self.state.encoding())
        } else {
            Vec::new()
        };
        Ok(Some(SemanticTokensRangeResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some(doc) = self.state.docs.get(&uri) else {
            return Ok(None);
        };
        let r = self.offset(&doc, params.range.start)..self.offset(&doc, params.range.end);
        let acts = actions::actions(&self.state, &uri, &doc, r, self.state.encoding());
        Ok((!acts.is_empty()).then_some(acts))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command == commands::DRAFT {
            return commands::draft_at(&self.client, &self.state, &params.arguments)
                .await
                .map(Some);
        }
        let arg = |i: usize| {
            params
                .arguments
                .get(i)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let Some(uri) = arg(0).and_then(|u| u.parse::<Uri>().ok()) else {
            return Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                "the first argument must be a document URI",
            ));
        };
        let result = {
            let Some(doc) = self.state.docs.get(&uri) else {
                return Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                    "that document is not open",
                ));
            };
            let key = diagnostics::doc_key(&uri, &doc);
            match params.command.as_str() {
                actions::DISMISS => match (arg(1), arg(2)) {
                    (Some(code), Some(text)) => self.state.dismissals.dismiss(&key, [(code, text)]),
                    _ => {
                        return Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                            "expected [uri, code, text]",
                        ))
                    }
                },
                actions::DISMISS_ALL => self
                    .state
                    .dismissals
                    .dismiss(&key, actions::all_findings(&doc)),
                actions::REANALYSE => {
                    if let Some(p) = &doc.trace_path {
                        self.state.traces.forget(p);
                    }
                    Ok(())
                }
                other => {
                    return Err(tower_lsp_server::jsonrpc::Error::invalid_params(format!(
                        "unknown command {other}"
                    )));
                }
            }
        };
        if let Err(e) = result {
            self.warn(format!("hedge: could not save the dismissal: {e}"));
        }
        if params.command == actions::REANALYSE {
            self.schedule(&uri, None);
        } else {
            let (client, state) = (self.client.clone(), self.state.clone());
            tokio::spawn(async move { diagnostics::publish(&client, &state, &uri).await });
        }
        Ok(None)
    }
}

/// A service for the real server and for in-process tests (which also get the state, to
/// compare the server's copy of a document with theirs).
pub fn service(
    dismissals: dismissals::Dismissals,
) -> (
    LspService<Backend>,
    tower_lsp_server::ClientSocket,
    Arc<State>,
) {
    let state = Arc::new(State::new(dismissals));
    let shared = state.clone();
    let (service, socket) = LspService::build(move |client| Backend::new(client, state.clone()))
        .custom_method("hedge/summary", Backend::summary)
        .finish();
    (service, socket, shared)
}

/// Serve LSP over stdin/stdout until the client exits.
pub async fn run_stdio(scoring: Option<settings::Scoring>) {
    let (service, socket, state) =
        service(dismissals::Dismissals::load(dismissals::default_path()));
    *state.trusted_scoring.write().expect("scoring lock") = scoring.clone();
    state.settings.write().expect("settings lock").scoring = scoring;
    serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        service,
        socket,
        &state,
    )
    .await;
}

/// Serve LSP between `input` and `output`: bad frames dropped on the way in, hedge's own
/// publications and tower-lsp-server's messages merged on the way out.
pub async fn serve<R, W>(
    input: R,
    output: W,
    service: LspService<Backend>,
    socket: tower_lsp_server::ClientSocket,
    state: &State,
) where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (output, outbox) = outbox::outbox(output);
    // A state serves one connection; a second `serve` keeps the first outbox.
    let _ = state.outbox.set(outbox);
    Server::new(frames::sanitized(input), output, socket)
        .serve(service)
        .await;
}
