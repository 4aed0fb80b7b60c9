//! Settings of the engine: thresholds, which finding codes are on, severities.
//!
//! Read from `hedge.toml` (the nearest one in the document's directory or above, or
//! `--config`); command-line flags override it. Unknown keys are an error that names the key,
//! so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::findings::{Code, Severity};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Vocabulary size for the entropy upper bound when the trace does not state it.
    pub vocab_size: Option<u64>,
    /// Below this share of tokens found in the document, the trace is taken to belong to
    /// another text and no findings are made.
    pub min_coverage: f64,
    pub thresholds: Thresholds,
    /// Codes to leave out entirely.
    pub disable: Vec<Code>,
    /// Severity per code, replacing the default.
    pub severity: BTreeMap<Code, Severity>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vocab_size: None,
            min_coverage: 0.5,
            thresholds: Thresholds::default(),
            disable: Vec::new(),
            severity: BTreeMap::new(),
        }
    }
}

/// Probabilities are 0..1; entropies in bits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Thresholds {
    /// A citation is flagged when its weakest token is below this.
    pub citation_p: f64,
    /// A number, date, name or quoted title is flagged when its weakest token is below this…
    pub claim_p: f64,
    /// …and is a warning (not information) below this.
    pub claim_warning_p: f64,
    /// Any other word is flagged when its weakest token is below this.
    pub word_p: f64,
    /// …and is a warning below this.
    pub word_warning_p: f64,
    /// A claim whose first token's entropy (lower bound) is above this is flagged
    /// `high-entropy`: the model was choosing among many continuations.
    pub decision_entropy_bits: f64,
    /// A claim whose token was not the model's first choice is flagged `off-greedy` when the
    /// first choice had at least this much more probability.
    pub off_greedy_gap: f64,
    /// A sentence whose perplexity is above this is flagged `uncertain-sentence`.
    pub sentence_perplexity: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            citation_p: 0.5,
            claim_p: 0.3,
            claim_warning_p: 0.1,
            word_p: 0.01,
            word_warning_p: 0.001,
            decision_entropy_bits: 2.5,
            off_greedy_gap: 0.2,
            sentence_perplexity: 6.0,
        }
    }
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.message().to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The nearest `hedge.toml` in `dir` or a directory above it.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        dir.ancestors()
            .map(|d| d.join("hedge.toml"))
            .find(|p| p.is_file())
    }

    pub fn validate(&self) -> Result<(), String> {
        let t = &self.thresholds;
        let probs = [
            ("citation-p", t.citation_p),
            ("claim-p", t.claim_p),
            ("claim-warning-p", t.claim_warning_p),
            ("word-p", t.word_p),
            ("word-warning-p", t.word_warning_p),
            ("off-greedy-gap", t.off_greedy_gap),
            ("min-coverage", self.min_coverage),
        ];
        for (name, v) in probs {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, not {v}"));
            }
        }
        if t.decision_entropy_bits < 0.0 || t.sentence_perplexity < 1.0 {
            return Err("decision-entropy-bits must be ≥ 0 and sentence-perplexity ≥ 1".into());
        }
        if self.vocab_size == Some(0) {
            return Err("vocab-size must be positive".into());
        }
        Ok(())
    }

    pub fn enabled(&self, code: Code) -> bool {
        !self.disable.contains(&code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = Config::parse("[thresholds]\nclaim-p = 0.2\n").unwrap();
        assert_eq!(c.thresholds.claim_p, 0.2);
        assert_eq!(c.thresholds.word_p, Thresholds::default().word_p);
    }

    #[test]
    fn codes_and_severities() {
        let c = Config::parse(
            "disable = [\"uncertain-sentence\"]\n[severity]\noff-greedy = \"hint\"\n",
        )
        .unwrap();
        assert!(!c.enabled(Code::UncertainSentence));
        assert_eq!(c.severity.get(&Code::OffGreedy), Some(&Severity::Hint));
    }

    #[test]
    fn mistakes_are_named() {
        let e = Config::parse("[thresholds]\nclaim_p = 0.2\n").unwrap_err();
        assert!(e.contains("unknown field `claim_p`"), "{e}");
        let e = Config::parse("min-coverage = 2.0\n").unwrap_err();
        assert_eq!(e, "min-coverage must be between 0 and 1, not 2");
    }
}
