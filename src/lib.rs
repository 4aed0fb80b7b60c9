//! hedge: shows where a language model was guessing.
//!
//! The engine runs trace → alignment → measures → spans → findings and knows nothing about
//! terminals, LSP or HTTP; the CLI and the language server are thin adapters over it.

pub mod align;
pub mod align_lossy;
pub mod analysis;
mod ascii_sentences;
pub mod config;
pub mod eval;
pub mod findings;
pub mod measure;
pub mod position;
pub mod report;
pub mod server;
pub mod source;
pub mod spans;
pub mod trace;

#[cfg(test)]
mod test_rng;
