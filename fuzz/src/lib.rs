//! Fuzz targets for hedge: the invariants live in `checks.rs` (shared with the regression tests),
//! the inputs are built here from the fuzzer's bytes.

pub mod checks;
pub mod lsp;

use arbitrary::Arbitrary;

/// A generated text, the tokens it is cut into, and edits that turn it into a document.
#[derive(Arbitrary, Debug)]
pub struct AlignInput {
    /// Vocabulary indices of the generated text.
    pub words: Vec<u8>,
    /// Token lengths in bytes (a cut may fall inside a character).
    pub cuts: Vec<u8>,
    /// Text around the generated text in the document.
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// Edits of the generated text: (where, bytes removed, vocabulary indices inserted).
    pub edits: Vec<(u16, u8, Vec<u8>)>,
}

#[derive(Arbitrary, Debug)]
pub struct PositionInput {
    /// Vocabulary indices, or a raw string when `raw` is set.
    pub words: Vec<u8>,
    pub raw: Option<String>,
    pub offsets: Vec<u16>,
    pub probes: Vec<(u8, u16)>,
}

#[derive(Arbitrary, Debug)]
pub struct EditInput {
    pub words: Vec<u8>,
    pub token_cuts: Vec<u8>,
    pub logprobs: Vec<u8>,
    /// (where, bytes removed, vocabulary indices inserted, pieces).
    pub edits: Vec<(u16, u8, Vec<u8>, u8)>,
    pub encoding: u8,
}
