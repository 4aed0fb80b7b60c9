//! Evaluation against human labels: the Mu-SHROOM format (SemEval-2025 Task 3), its official
//! metrics, per-character scores from hedge's measures, and calibration of span scores.
//!
//! Nothing here runs a model: the CLI scores each record's text (with the local scorer) and
//! hands the trace to [`predict`].

pub mod calibration;
pub mod metrics;
pub mod predict;
pub mod reader;
