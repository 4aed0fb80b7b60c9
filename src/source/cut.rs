//! Cutting the context off a prompt-scoring trace: the server scored `context + chunk` as one
//! prompt, and only the chunk's tokens are kept.
//!
//! The tokens are walked along the text that was sent. A token whose bytes are next in the text
//! is placed there; a token that lost or gained a leading space (SentencePiece's dummy prefix,
//! TGI and SGLang decoding each token alone) is placed over the text it stands for; a token that
//! is nowhere near (`<s>`, `<|begin_of_text|>`) is dropped. A run of tokens without exact bytes
//! (`"�"` or `""` for part of a character) covers the text up to the next placed token. Tokens
//! that end inside the context are dropped; a token that starts in the context and ends in the
//! chunk keeps only its bytes in the chunk (its logprob is the whole token's). Kept tokens get
//! the exact bytes of the text they cover, except runs of lossy tokens, which keep theirs and
//! are placed by the aligner.

use crate::trace::Token;

/// The chunk's tokens and how many bytes of the chunk they cover.
#[derive(Debug)]
pub(crate) struct Cut {
    pub tokens: Vec<Token>,
    pub covered: usize,
}

/// How far ahead a token that does not follow on is looked for.
const RESYNC: usize = 64;

/// Where the token's bytes `b` are in `sent` at or after `c`: (start, end) of the text it covers.
fn locate(sent: &[u8], c: usize, b: &[u8]) -> Option<(usize, usize)> {
    let rest = &sent[c..];
    if rest.starts_with(b) {
        return Some((c, c + b.len()));
    }
    if b.len() > 1 && b[0] == b' ' && rest.starts_with(&b[1..]) {
        return Some((c, c + b.len() - 1));
    }
    let ws = rest.iter().take_while(|x| x.is_ascii_whitespace()).count();
    if ws > 0 && !b[0].is_ascii_whitespace() && rest[ws..].starts_with(b) {
        return Some((c, c + ws + b.len()));
    }
    let end = rest.len().min(RESYNC + b.len());
    rest[..end]
        .windows(b.len())
        .position(|w| w == b)
        .map(|p| (c + p, c + p + b.len()))
}

/// Keep the tokens of `sent[ctx_len..]` (see the module documentation).
pub(crate) fn cut(tokens: &[Token], sent: &[u8], ctx_len: usize) -> Cut {
    let mut kept = Kept {
        out: Vec::new(),
        covered: 0,
        ctx_len,
        sent,
    };
    let mut c = 0;
    let mut pending: Vec<Token> = Vec::new();
    let mut pending_start = 0;
    for t in tokens {
        if c >= sent.len() && pending.is_empty() {
            break;
        }
        if t.lossy || t.bytes.is_empty() {
            if pending.is_empty() {
                pending_start = c;
            }
            pending.push(t.clone());
            continue;
        }
        let Some((mut s, e)) = locate(sent, c, &t.bytes) else {
            continue;
        };
        // Found further on: whitespace just before it is the space its text lost.
        if s > c && !t.bytes[0].is_ascii_whitespace() {
            while s > c && sent[s - 1] == b' ' {
                s -= 1;
            }
        }
        kept.run(std::mem::take(&mut pending), pending_start, s);
        kept.place(t, s, e);
        c = e;
    }
    if pending_start < sent.len() {
        kept.run(pending, pending_start, sent.len());
    }
    Cut {
        tokens: kept.out,
        covered: kept.covered,
    }
}

struct Kept<'a> {
    out: Vec<Token>,
    covered: usize,
    ctx_len: usize,
    sent: &'a [u8],
}

impl Kept<'_> {
    /// Keep a token that covers `sent[s..e]` when it reaches into the chunk, with those bytes.
    fn place(&mut self, t: &Token, s: usize, e: usize) {
        if e > self.ctx_len {
            let from = s.max(self.ctx_len);
            let mut k = t.clone();
            k.bytes = self.sent[from..e].into();
            k.lossy = false;
            self.covered += e - from;
            self.out.push(k);
        }
    }

    /// Tokens without exact bytes that cover `sent[start..end]` together. An empty first token
    /// over leading whitespace is that whitespace (a space its text lost); when what remains
    /// has one byte per token, each token is one byte (byte-fallback pieces). Otherwise the
    /// run keeps its lossy bytes for the aligner, if it reaches into the chunk.
    fn run(&mut self, mut run: Vec<Token>, mut start: usize, end: usize) {
        if run.is_empty() {
            return;
        }
        let ws = self.sent[start..end]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        if ws > 0 && run[0].bytes.is_empty() && run.len() > 1 {
            let first = run.remove(0);
            self.place(&first, start, start + ws);
            start += ws;
        }
        if end - start == run.len() {
            for (i, t) in run.iter().enumerate() {
                self.place(t, start + i, start + i + 1);
            }
        } else if end > self.ctx_len {
            self.covered += end - start.max(self.ctx_len);
            self.out.append(&mut run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str, lp: f64) -> Token {
        Token {
            bytes: s.as_bytes().into(),
            logprob: Some(lp),
            ..Token::default()
        }
    }

    fn lossy(s: &str) -> Token {
        Token {
            lossy: true,
            ..tok(s, -1.0)
        }
    }

    fn texts(c: &Cut) -> Vec<String> {
        c.tokens.iter().map(Token::text).collect()
    }

    #[test]
    fn context_tokens_are_dropped_and_a_straddler_is_trimmed() {
        let sent = b"The cat sat. The dog ran.";
        let toks = [
            "<s>", "The", " cat", " sat", ".", " The", " dog", " ran", ".", " and",
        ]
        .map(|t| tok(t, -0.5));
        let c = cut(&toks, sent, 12);
        assert_eq!(texts(&c), [" The", " dog", " ran", "."]);
        assert_eq!(c.covered, 13);
        // The chunk starts inside " dog": the token keeps "og".
        let c = cut(&toks, sent, 18);
        assert_eq!(texts(&c), ["og", " ran", "."]);
        assert_eq!(c.covered, 7);
    }

    #[test]
    fn spaces_lost_or_added_by_the_tokenizer() {
        // TGI prefill: each token decoded alone loses its leading space.
        let toks = ["<s>", "Is", "Deep", "Learning"].map(|t| tok(t, -1.0));
        let c = cut(&toks, b"Is Deep Learning", 3);
        assert_eq!(texts(&c), ["Deep", " Learning"]);
        assert_eq!(c.covered, 13);
        // SentencePiece dummy prefix on the first token.
        let toks = [" Hello", " world"].map(|t| tok(t, -1.0));
        let c = cut(&toks, b"Hello world", 0);
        assert_eq!(texts(&c), ["Hello", " world"]);
    }

    #[test]
    fn lossy_runs_cover_the_text_to_the_next_token() {
        let sent = "ab 😊 cd".as_bytes();
        let toks = [
            tok("ab", -1.0),
            tok(" ", -1.0),
            lossy("�"),
            lossy("�"),
            tok(" cd", -1.0),
        ];
        let c = cut(&toks, sent, 2);
        assert_eq!(texts(&c), [" ", "�", "�", " cd"]);
        assert_eq!(c.covered, sent.len() - 2);
        // A lossy run inside the context is dropped with it.
        let c = cut(&toks, sent, 7);
        assert_eq!(texts(&c), [" cd"]);
        // One token per byte: each gets its byte; an empty token over a space is that space,
        // and a token found after a gap takes the space before it.
        let toks = [
            tok("ab", -1.0),
            lossy(""),
            lossy("\u{FFFD}"),
            lossy(""),
            lossy(""),
            lossy("\u{FFFD}"),
            tok("cd", -2.0),
        ];
        let c = cut(&toks, sent, 0);
        let bytes: Vec<Vec<u8>> = c.tokens.iter().map(|t| t.bytes.to_vec()).collect();
        assert_eq!(
            bytes,
            [&b"ab"[..], b" ", &[0xF0], &[0x9F], &[0x98], &[0x8A], b" cd"]
        );
        assert!(c.tokens.iter().all(|t| !t.lossy));
        assert_eq!((c.covered, c.tokens[6].logprob), (sent.len(), Some(-2.0)));
    }

    #[test]
    fn nothing_placed_covers_nothing() {
        let toks = [tok("Paris", -0.1)];
        let c = cut(&toks, b"The capital of France is", 4);
        assert!(c.tokens.is_empty());
        assert_eq!(c.covered, 0);
    }
}
