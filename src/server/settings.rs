//! Settings of the language server: the `hedge` section of `initializationOptions` and
//! `workspace/configuration`, in the editors' camelCase. The engine's part is read through the
//! same `Config` as `hedge.toml` (keys are turned into its kebab-case), so both stay one list.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::Config;

/// Largest document analysed by default (bytes); larger ones get a message instead.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// Most diagnostics published for one document by default: more than a reviewer can read, few
/// enough that an editor stays quick when a large document has thousands of findings.
pub const DEFAULT_MAX_DIAGNOSTICS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub engine: Config,
    /// Paint a probability heatmap through semantic tokens.
    pub heatmap: bool,
    /// Sidecar suffixes tried after the document's name, in order.
    pub sidecar_suffixes: Vec<String>,
    pub max_document_bytes: usize,
    /// Most diagnostics published for one document (the most severe and least likely are
    /// kept, and a note says how many there are); 0 publishes all.
    pub max_diagnostics: usize,
    /// Put one information note at the top of a document that has no trace.
    pub note_missing_trace: bool,
    /// Where documents without a trace are scored. Taken only from user-level settings
    /// (`initializationOptions`) or `hedge lsp`'s flags, never from a workspace.
    pub scoring: Option<Scoring>,
    /// The chat endpoint `hedge.draft` asks. Like `scoring`, taken only from user-level settings.
    pub draft: Option<Draft>,
}

/// A chat endpoint for drafting at the cursor (`hedge.draft`), configured by the user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Draft {
    /// An OpenAI-compatible API's base URL, such as `http://127.0.0.1:8080/v1`.
    pub endpoint: String,
    pub model: Option<String>,
    /// The name of the environment variable holding the API key (never the key).
    pub api_key_env: Option<String>,
    /// A system message sent before the prompt.
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub seed: Option<u64>,
    /// Seconds to wait for the answer.
    pub timeout: Option<f64>,
}

/// A scoring server configured by the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scoring {
    /// vllm | llama-cpp-python | tgi | sglang | together | fireworks, or `local`: the GGUF
    /// model at `model` run inside hedge (needs the `local` feature; no endpoint).
    pub server: String,
    #[serde(default)]
    pub endpoint: String,
    pub model: Option<String>,
    /// The name of the environment variable holding the API key (never the key).
    pub api_key_env: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: Config::default(),
            heatmap: false,
            sidecar_suffixes: crate::source::sidecar::SUFFIXES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_diagnostics: DEFAULT_MAX_DIAGNOSTICS,
            note_missing_trace: false,
            scoring: None,
            draft: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServerPart {
    heatmap: Option<bool>,
    sidecar_suffixes: Option<Vec<String>>,
    max_document_bytes: Option<usize>,
    max_diagnostics: Option<usize>,
    note_missing_trace: Option<bool>,
    scoring: Option<Scoring>,
    draft: Option<Draft>,
}

const SERVER_KEYS: [&str; 7] = [
    "heatmap",
    "sidecarSuffixes",
    "maxDocumentBytes",
    "maxDiagnostics",
    "noteMissingTrace",
    "scoring",
    "draft",
];
const ENGINE_KEYS: [&str; 5] = [
    "vocabSize",
    "minCoverage",
    "thresholds",
    "disable",
    "severity",
];

fn kebab(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// camelCase keys → kebab-case, recursively; values (like code names) are left alone.
fn kebab_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    // Under `severity`, keys are finding codes, already kebab-case.
                    (kebab(k), kebab_keys(v))
                })
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

impl Settings {
    /// Read settings; `Err` says what was wrong (the caller shows it and keeps defaults).
    /// `null` or a missing section means defaults.
    pub fn from_json(v: &Value) -> Result<Settings, String> {
        let obj = match v {
            Value::Null => return Ok(Settings::default()),
            Value::Object(m) => m,
            _ => return Err("hedge settings must be an object".into()),
        };
        // Some clients wrap the section: {"hedge": {...}}.
        let obj = match obj.get("hedge") {
            Some(Value::Object(inner)) if obj.len() == 1 => inner,
            _ => obj,
        };
        let mut server = Map::new();
        let mut engine = Map::new();
        for (k, v) in obj {
            if SERVER_KEYS.contains(&k.as_str()) {
                server.insert(k.clone(), v.clone());
            } else if ENGINE_KEYS.contains(&k.as_str()) {
                engine.insert(k.clone(), v.clone());
            } else {
                return Err(format!("unknown setting `{k}`"));
            }
        }
        let part: ServerPart =
            serde_json::from_value(Value::Object(server)).map_err(|e| e.to_string())?;
        let engine_json = kebab_keys(&Value::Object(engine));
        let engine: Config = serde_json::from_value(engine_json).map_err(|e| e.to_string())?;
        engine.validate()?;
        let d = Settings::default();
        let suffixes = part.sidecar_suffixes.unwrap_or(d.sidecar_suffixes);
        if suffixes
            .iter()
            .any(|s| s.is_empty() || s.contains('/') || s.contains('\\'))
        {
            return Err(
                "sidecarSuffixes must be non-empty file-name suffixes like \".logprobs.json\""
                    .into(),
            );
        }
        Ok(Settings {
            engine,
            heatmap: part.heatmap.unwrap_or(d.heatmap),
            sidecar_suffixes: suffixes,
            max_document_bytes: part.max_document_bytes.unwrap_or(d.max_document_bytes),
            max_diagnostics: part.max_diagnostics.unwrap_or(d.max_diagnostics),
            note_missing_trace: part.note_missing_trace.unwrap_or(d.note_missing_trace),
            scoring: part.scoring,
            draft: part.draft,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_case_reaches_the_engine() {
        let s = Settings::from_json(&json!({
            "heatmap": true,
            "minCoverage": 0.7,
            "thresholds": {"claimP": 0.2},
            "disable": ["uncertain-sentence"],
            "severity": {"off-greedy": "hint"}
        }))
        .unwrap();
        assert!(s.heatmap);
        assert_eq!(s.engine.min_coverage, 0.7);
        assert_eq!(s.engine.thresholds.claim_p, 0.2);
        assert_eq!(s.engine.disable.len(), 1);
    }

    #[test]
    fn wrapped_and_empty() {
        assert!(
            Settings::from_json(&json!({"hedge": {"heatmap": true}}))
                .unwrap()
                .heatmap
        );
        assert_eq!(
            Settings::from_json(&Value::Null).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn mistakes_are_reported() {
        let e = Settings::from_json(&json!({"heatMap": true})).unwrap_err();
        assert_eq!(e, "unknown setting `heatMap`");
        let e = Settings::from_json(&json!({"thresholds": {"claimPp": 1}})).unwrap_err();
        assert!(e.contains("unknown field `claim-pp`"), "{e}");
        let e = Settings::from_json(&json!({"heatmap": "yes"})).unwrap_err();
        assert!(
            e.contains("invalid type: string \"yes\", expected a boolean"),
            "{e}"
        );
    }
}
