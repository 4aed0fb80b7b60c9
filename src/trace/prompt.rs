//! Keeping the prompt and the output of a prompt-scoring trace apart.
//!
//! Readers put the prompt's tokens first and count them in [`Trace::prompt_tokens`];
//! [`super::parse_trace_with`] drops them unless the caller asked for them. The stated text
//! is always the output's, so echoed text has the prompt cut off its front.

use super::{Token, Trace};

/// How many leading entries of an echoed array are prompt: the entries beyond the number of
/// tokens the provider says it generated. Without a count nothing is taken as prompt.
pub(crate) fn echoed(entries: usize, completion_tokens: Option<usize>) -> usize {
    match completion_tokens {
        Some(c) if entries > c => entries - c,
        _ => 0,
    }
}

/// Put the prompt's tokens in front of the output's and count them.
pub(crate) fn join(trace: &mut Trace, prompt: Vec<Token>) {
    if prompt.is_empty() {
        return;
    }
    trace.prompt_tokens = prompt.len();
    let output = std::mem::replace(&mut trace.tokens, prompt);
    trace.tokens.extend(output);
}

/// The output part of a stated text that echoes the prompt: the text without the prompt's
/// bytes in front (a leading token or two that the text leaves out, such as `<s>`, may be
/// skipped), or the text unchanged when it does not start with them. `None` when a prompt
/// token's bytes are lossy, so where the prompt ends in the text is not known.
pub(crate) fn strip_echo(text: Option<String>, prompt: &[Token]) -> Option<String> {
    let text = text?;
    if prompt.iter().any(|t| t.lossy) {
        return None;
    }
    for skip in 0..prompt.len().min(3) {
        let mut p = Vec::new();
        for t in &prompt[skip..] {
            p.extend_from_slice(&t.bytes);
        }
        if let Some(rest) = text.as_bytes().strip_prefix(p.as_slice()) {
            if !p.is_empty() {
                return Some(String::from_utf8_lossy(rest).into_owned());
            }
        }
    }
    Some(text)
}

/// `usage.completion_tokens`-style counts as `usize`.
pub(crate) fn count(n: Option<u64>) -> Option<usize> {
    n.and_then(|n| usize::try_from(n).ok())
}
