//! Helpers of the reader tests (`readers.rs`, `readers_providers.rs`): a fixture's bytes and its
//! trace, each token's fields in a list to compare whole, and the reason of a shape error.

use hedge::trace::{parse_trace, Alternative, Token, Trace, TraceError, TraceFormat};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/traces/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn read(name: &str) -> Trace {
    parse_trace(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn bytes(t: &Trace) -> Vec<Vec<u8>> {
    t.tokens.iter().map(|t| t.bytes.to_vec()).collect()
}

pub fn logprobs(t: &Trace) -> Vec<Option<f64>> {
    t.tokens.iter().map(|t| t.logprob).collect()
}

pub fn flags(t: &Trace, f: fn(&Token) -> bool) -> Vec<bool> {
    t.tokens.iter().map(f).collect()
}

pub fn alt(bytes: &[u8], logprob: f64, id: Option<u32>) -> Alternative {
    Alternative {
        bytes: bytes.into(),
        logprob,
        id,
    }
}

pub fn shape_reason(r: Result<Trace, TraceError>) -> (TraceFormat, String) {
    match r {
        Err(TraceError::Shape { format, reason }) => (format, reason),
        other => panic!("expected a shape error, got {other:?}"),
    }
}
