//! The fast path for the two shapes that carry large traces: an OpenAI-style chat completion
//! (`choices[0].logprobs.content[]`, also llama-server's and vLLM's) and a llama.cpp
//! `/completion` response (`completion_probabilities[]`), with exact `bytes` for every token
//! and alternative. One pass over the JSON builds the tokens directly: no detection pass, no
//! intermediate serde structs, no token strings kept.
//!
//! It takes only input that the general readers would read to the same trace. Anything else
//! (another shape, a token without `bytes`, a duplicate or unexpected key, a stream, invalid
//! JSON, deep nesting) gives `None`, and the general path runs and explains any error. A test
//! checks both paths agree on every fixture.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::json_scan::{Bail, Scan, R};
use super::llamacpp::{has_replacement, merged_by_ids, starts_with_held_back};
use super::{classify_logprob, Alternative, Token, TokenBytes, Trace, TraceFormat};

/// Read `data` (UTF-8, BOM removed) as one of the fast shapes, or `None`.
pub(crate) fn read(data: &[u8], forced: Option<TraceFormat>) -> Option<Trace> {
    let mut s = Scan { d: data, i: 0 };
    let top = top_level(&mut s).ok()?;
    s.ws();
    if s.i != data.len() {
        return None;
    }
    let (format, trace) = top.finish().ok()?;
    match forced {
        Some(f) if f != format => None,
        _ => Some(trace),
    }
}

/// What the top level of either shape says, gathered in one scan.
#[derive(Default)]
struct Top {
    seen: Keys,
    /// `completion_probabilities` (llama.cpp) or `choices[0].logprobs.content` (chat).
    entries: Option<Entries>,
    chat: Option<Choice>,
    model: Option<String>,
    /// llama.cpp `content`.
    content: Option<String>,
    tokens_predicted: Option<u64>,
    /// llama.cpp `tokens`: the generated ids.
    ids: Option<Vec<i64>>,
    completion_tokens: Option<u64>,
}

#[derive(Default)]
struct Choice {
    /// `message.content` (or `delta.content`) when `message` (or `delta`) is an object.
    message: Option<Option<String>>,
    delta: Option<Option<String>>,
    text: Option<String>,
}

/// Tokens as they are read, before the steps that need the whole array.
#[derive(Default)]
struct Entries {
    tokens: Vec<Token>,
    /// Each entry's id as given (the token keeps only ids that fit a u32).
    ids: Vec<Option<i64>>,
    /// The byte length of each id's piece, from alternatives that give both.
    pieces: HashMap<i64, usize>,
}

/// Keys already seen in one object: a second one is a serde "duplicate field" error.
#[derive(Default, Clone, Copy)]
struct Keys(u32);

impl Keys {
    fn first(&mut self, bit: u32) -> R<()> {
        if self.0 & (1 << bit) != 0 {
            return Err(Bail);
        }
        self.0 |= 1 << bit;
        Ok(())
    }
    fn has(self, bit: u32) -> bool {
        self.0 & (1 << bit) != 0
    }
}

// Top-level keys.
const K_CHOICES: u32 = 0;
const K_MODEL: u32 = 1;
const K_USAGE: u32 = 2;
const K_PROBS: u32 = 3;
const K_CONTENT: u32 = 4;
const K_PREDICTED: u32 = 5;
const K_TOKENS: u32 = 6;

fn top_level(s: &mut Scan<'_>) -> R<Top> {
    let mut top = Top::default();
    let mut seen = Keys::default();
    s.object(0, |s, key| {
        match key {
            b"hedge" => return Err(Bail),
            b"prompt_logprobs" => s.null()?,
            b"choices" => {
                seen.first(K_CHOICES)?;
                let mut n = 0;
                s.array(1, |s| {
                    n += 1;
                    if n > 1 {
                        return Err(Bail);
                    }
                    choice(s, &mut top)
                })?;
                if n == 0 {
                    return Err(Bail);
                }
            }
            b"model" => {
                seen.first(K_MODEL)?;
                top.model = s.opt_string()?;
            }
            b"usage" => {
                seen.first(K_USAGE)?;
                if !s.null_or()? {
                    let mut k = Keys::default();
                    s.object(1, |s, key| match key {
                        b"completion_tokens" => {
                            k.first(0)?;
                            top.completion_tokens = s.opt_u64()?;
                            Ok(())
                        }
                        _ => s.skip(2),
                    })?;
                }
            }
            b"completion_probabilities" => {
                seen.first(K_PROBS)?;
                top.entries = Some(entries(s, 1)?);
            }
            b"content" => {
                seen.first(K_CONTENT)?;
                top.content = s.opt_string()?;
            }
            b"tokens_predicted" => {
                seen.first(K_PREDICTED)?;
                top.tokens_predicted = s.opt_u64()?;
            }
            b"tokens" => {
                seen.first(K_TOKENS)?;
                if !s.null_or()? {
                    let mut ids = Vec::new();
                    s.array(1, |s| {
                        ids.push(s.i64()?);
                        Ok(())
                    })?;
                    top.ids = Some(ids);
                }
            }
            _ => s.skip(1)?,
        }
        Ok(())
    })?;
    top.seen = seen;
    Ok(top)
}

fn choice(s: &mut Scan<'_>, top: &mut Top) -> R<()> {
    let mut c = Choice::default();
    let mut k = Keys::default();
    s.object(2, |s, key| match key {
        b"index" => {
            k.first(0)?;
            s.opt_u64().map(drop)
        }
        b"message" => {
            k.first(1)?;
            c.message = message(s)?;
            Ok(())
        }
        b"delta" => {
            k.first(2)?;
            c.delta = message(s)?;
            Ok(())
        }
        b"text" => {
            k.first(3)?;
            c.text = s.opt_string()?;
            Ok(())
        }
        b"logprobs" => {
            k.first(4)?;
            let mut lk = Keys::default();
            s.object(3, |s, key| match key {
                b"content" => {
                    lk.first(0)?;
                    top.entries = Some(entries(s, 4)?);
                    Ok(())
                }
                // A refusal is read by the general path.
                b"refusal" => {
                    lk.first(1)?;
                    s.null_or_empty_array()
                }
                _ => s.skip(4),
            })
        }
        b"prompt_logprobs" => s.null(),
        _ => s.skip(3),
    })?;
    if !k.has(4) {
        return Err(Bail);
    }
    top.chat = Some(c);
    Ok(())
}

/// A message object's `content`: `None` for `null`, `Some(content)` for an object.
fn message(s: &mut Scan<'_>) -> R<Option<Option<String>>> {
    if s.null_or()? {
        return Ok(None);
    }
    let (mut content, mut k) = (None, Keys::default());
    s.object(3, |s, key| match key {
        b"content" => {
            k.first(0)?;
            content = s.opt_string()?;
            Ok(())
        }
        b"refusal" => {
            k.first(1)?;
            s.opt_string().map(drop)
        }
        _ => s.skip(4),
    })?;
    Ok(Some(content))
}

// Entry keys.
const E_ID: u32 = 0;
const E_TOKEN: u32 = 1;
const E_BYTES: u32 = 2;
const E_LOGPROB: u32 = 3;
const E_TOP: u32 = 4;

/// Arrays of entries larger than this are read in parts by several threads at once, each part
/// at least half of it (smaller in tests, so they can try it on small inputs).
const SPLIT_BYTES: usize = if cfg!(test) { 64 << 10 } else { 4 << 20 };

#[cfg(test)]
thread_local! {
    /// How many parts the tests have a large array read in, whatever the machine's cores.
    pub(super) static PARTS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// How many parts to read `len` bytes of entries in: one per thread of the pool (one per core,
/// or `RAYON_NUM_THREADS`), each at least half of `SPLIT_BYTES`; one under `SPLIT_BYTES`.
fn parts_for(len: usize) -> usize {
    if len < SPLIT_BYTES {
        return 1;
    }
    #[cfg(test)]
    if let Some(n) = PARTS.with(|p| p.get()) {
        return n;
    }
    rayon::current_num_threads()
        .min(len / (SPLIT_BYTES / 2))
        .max(1)
}

/// Where a part's reader stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
enum PartEnd {
    /// Exactly at the next part's start: that part's reader began at an entry's start.
    AtNext,
    /// Past the next part's start without landing on it: that start was not an entry's.
    Passed,
    /// At the end of the array (just past the `]`).
    End,
}

/// The entries array. A large one is read in parts at once: each further thread starts at what
/// looks like an entry's start (see [`split_points`]), and its entries are used only if the
/// reader of the part before it, reading entry by entry, arrives exactly there (so it was an
/// entry's start, and both read the same bytes the same way); otherwise this thread reads on
/// alone and the later parts are dropped.
fn entries(s: &mut Scan<'_>, depth: usize) -> R<Entries> {
    if s.open(depth, b'[', b']')? {
        return Ok(Entries::default());
    }
    let splits = split_points(s.d, s.i, depth, parts_for(s.d.len() - s.i));
    entries_split_at(s, depth, &splits)
}

/// The entries of the array `s` is in (just past its `[`), in parts starting at `splits`.
fn entries_split_at(s: &mut Scan<'_>, depth: usize, splits: &[usize]) -> R<Entries> {
    let mut out = Entries::default();
    let never = AtomicBool::new(false);
    if splits.is_empty() {
        entries_until(s, depth, &mut out, None, &never)?;
        return Ok(out);
    }
    let stops: Vec<AtomicBool> = splits.iter().map(|_| AtomicBool::new(false)).collect();
    let stop_from = |k: usize| {
        stops[k.min(stops.len())..]
            .iter()
            .for_each(|f| f.store(true, Relaxed))
    };
    std::thread::scope(|scope| {
        let mut parts: Vec<_> = splits
            .iter()
            .enumerate()
            .map(|(k, &at)| {
                let (d, stop, next) = (s.d, &stops[k], splits.get(k + 1).copied());
                Some(scope.spawn(move || {
                    let mut t = Scan { d, i: at };
                    let mut o = Entries::default();
                    entries_until(&mut t, depth, &mut o, next, stop).map(|end| (o, end, t.i))
                }))
            })
            .collect();
        let mut read = || -> R<()> {
            let mut end = entries_until(s, depth, &mut out, Some(splits[0]), &never)?;
            // The part whose start this reader is at when `end` is `AtNext`.
            let mut k = 0;
            loop {
                match end {
                    PartEnd::End => return Ok(()),
                    PartEnd::AtNext => {
                        let part = parts[k].take().expect("each part is taken once");
                        if let Ok(Ok((rest, rest_end, at))) = part.join() {
                            out.append(rest);
                            s.i = at;
                            end = rest_end;
                            k += 1;
                            continue;
                        }
                        // It failed (on input this thread will fail on too) or was stopped.
                        stop_from(k + 1);
                    }
                    PartEnd::Passed => stop_from(k),
                }
                end = entries_until(s, depth, &mut out, None, &never)?;
            }
        };
        let read = read();
        // Whatever is still running is not needed.
        stop_from(0);
        read.map(|()| out)
    })
}

/// Entries from an entry's start until the start `next` (if given) or the end of their array.
fn entries_until(
    s: &mut Scan<'_>,
    depth: usize,
    out: &mut Entries,
    next: Option<usize>,
    stop: &AtomicBool,
) -> R<PartEnd> {
    loop {
        s.ws();
        match next {
            Some(at) if s.i == at => return Ok(PartEnd::AtNext),
            Some(at) if s.i > at => return Ok(PartEnd::Passed),
            _ => {}
        }
        if stop.load(Relaxed) {
            return Err(Bail);
        }
        entry(s, depth + 1, out)?;
        if !s.more(b']')? {
            return Ok(PartEnd::End);
        }
    }
}

/// `n` entries and their commas read from `at`.
fn entries_follow(d: &[u8], at: usize, depth: usize, n: usize) -> bool {
    let mut s = Scan { d, i: at };
    let mut scratch = Entries::default();
    (0..n)
        .all(|_| entry(&mut s, depth + 1, &mut scratch).is_ok() && matches!(s.more(b']'), Ok(true)))
}

/// Where the readers of parts 2 to `parts` of `d[from..]` could start, in order: for each, a
/// [`split_near`] its share of the way through. Only guesses; the reader before each checks it.
fn split_points(d: &[u8], from: usize, depth: usize, parts: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for j in 1..parts {
        let goal = from + (d.len() - from) / parts * j;
        let goal = goal.max(out.last().map_or(0, |&p| p + 1));
        if let Some(at) = split_near(d, goal, depth) {
            out.push(at);
        }
    }
    out
}

/// The first `{` from `goal` that is preceded by `}` `,` and followed by `"` (whitespace
/// allowed between), within 64 KiB, and from which 32 entries in a row read (so not a short
/// list of alternatives).
fn split_near(d: &[u8], goal: usize, depth: usize) -> Option<usize> {
    let end = (goal + (64 << 10)).min(d.len());
    let ws = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let mut at = goal.min(end);
    while let Some(k) = memchr::memchr(b'{', &d[at..end]) {
        let i = at + k;
        let mut before = d[..i].iter().rev().skip_while(|b| ws(b));
        let after = d[i + 1..].iter().find(|b| !ws(b));
        if before.next() == Some(&b',')
            && before.find(|b| !ws(b)) == Some(&b'}')
            && after == Some(&b'"')
            && entries_follow(d, i, depth, 32)
        {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// What entries and alternatives share: `id` (or `token_id`), `token`, `bytes`, `logprob`.
#[derive(Default)]
struct Piece<'a> {
    id: Option<i64>,
    /// The `token` string as written, and whether it holds escapes, when there is one.
    token: Option<(&'a [u8], bool)>,
    bytes: Option<TokenBytes>,
    logprob: Option<f64>,
    keys: Keys,
}

impl<'a> Piece<'a> {
    /// Read the value of `key` if it is one of the shared keys; `false` if it is not.
    fn read(&mut self, s: &mut Scan<'a>, key: &[u8]) -> R<bool> {
        match key {
            b"id" | b"token_id" => {
                self.keys.first(E_ID)?;
                self.id = s.opt_i64()?;
            }
            b"token" => {
                self.keys.first(E_TOKEN)?;
                self.token = s.opt_raw_string()?;
            }
            b"bytes" => {
                self.keys.first(E_BYTES)?;
                // Nearly always the token's own UTF-8, written out: compared, not parsed.
                self.bytes = match self.token {
                    Some((text, false)) if s.spells(text) => Some(TokenBytes::from_slice(text)),
                    _ => s.opt_bytes()?,
                };
            }
            b"logprob" => {
                self.keys.first(E_LOGPROB)?;
                self.logprob = s.opt_f64()?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn entry(s: &mut Scan<'_>, depth: usize, out: &mut Entries) -> R<()> {
    let mut p = Piece::default();
    // Sized like the previous entry's list: a trace lists the same number at every position.
    let mut top = Vec::with_capacity(out.tokens.last().map_or(0, |t| t.top.len()));
    s.object(depth, |s, key| {
        if p.read(s, key)? {
            return Ok(());
        }
        match key {
            b"top_logprobs" => {
                p.keys.first(E_TOP)?;
                if !s.null_or()? {
                    s.array(depth + 1, |s| alternative(s, depth + 2, &mut top, out))?;
                }
                Ok(())
            }
            // Other entry shapes (linear probabilities, the old llama.cpp shape, echo offsets).
            b"prob" | b"top_probs" | b"content" | b"probs" | b"text_offset" => Err(Bail),
            _ => s.skip(depth + 1),
        }
    })?;
    let bytes = p.bytes.ok_or(Bail)?;
    // The chat reader takes an unscored first entry as the start of an echoed prompt.
    if p.logprob.is_none() && out.tokens.is_empty() {
        return Err(Bail);
    }
    let lossy =
        has_replacement(&bytes) || (bytes.is_empty() && p.token.is_none_or(|(t, _)| t.is_empty()));
    let (logprob, sentinel) = classify_logprob(p.logprob);
    out.tokens.push(Token {
        bytes,
        logprob,
        id: p.id.and_then(|i| u32::try_from(i).ok()),
        top,
        sentinel,
        lossy,
        ..Token::default()
    });
    out.ids.push(p.id);
    Ok(())
}

fn alternative(
    s: &mut Scan<'_>,
    depth: usize,
    top: &mut Vec<Alternative>,
    out: &mut Entries,
) -> R<()> {
    let mut p = Piece::default();
    s.object(depth, |s, key| {
        if p.read(s, key)? {
            return Ok(());
        }
        match key {
            b"prob" => Err(Bail),
            _ => s.skip(depth + 1),
        }
    })?;
    let Some(bytes) = p.bytes else {
        // Only the token's surface text: decoding it needs the whole trace's piece style.
        return if p.token.is_some() { Err(Bail) } else { Ok(()) };
    };
    if let Some(id) = p.id {
        out.pieces.entry(id).or_insert(bytes.len());
    }
    if let (Some(lp), _) = classify_logprob(p.logprob) {
        top.push(Alternative {
            bytes,
            logprob: lp,
            id: p.id.and_then(|i| u32::try_from(i).ok()),
        });
    }
    Ok(())
}

impl Top {
    fn finish(self) -> R<(TraceFormat, Trace)> {
        let entries = self.entries.ok_or(Bail)?;
        if self.seen.has(K_PROBS) {
            if self.seen.has(K_CHOICES) {
                return Err(Bail);
            }
            let merged = match &self.ids {
                Some(ids) if !ids.is_empty() => merged_by_ids(&entries.ids, ids),
                _ => Vec::new(),
            };
            let format = TraceFormat::LlamacppCompletion;
            let mut trace = Trace::new(format, entries.into_tokens(&merged));
            trace.stated_text = self.content;
            trace.stated_token_count = self.tokens_predicted.and_then(|n| usize::try_from(n).ok());
            trace.model = self.model;
            return Ok((format, trace));
        }
        let choice = self.chat.ok_or(Bail)?;
        if entries.tokens.is_empty() {
            return Err(Bail);
        }
        let format = TraceFormat::OpenaiChat;
        let mut trace = Trace::new(format, entries.into_tokens(&[]));
        trace.stated_text = match choice.message.or(choice.delta) {
            Some(content) => content.or(choice.text),
            None => choice.text,
        };
        trace.stated_token_count = self.completion_tokens.and_then(|n| usize::try_from(n).ok());
        trace.model = self.model;
        Ok((format, trace))
    }
}

impl Entries {
    /// Append the entries read after these; an id's piece keeps its first length.
    fn append(&mut self, rest: Entries) {
        self.tokens.extend(rest.tokens);
        self.ids.extend(rest.ids);
        for (id, len) in rest.pieces {
            self.pieces.entry(id).or_insert(len);
        }
    }

    /// The steps of `llamacpp::tokens_from_batches` that need every entry: a last entry with
    /// no text is dropped, and entries longer than their id's piece are marked merged.
    fn into_tokens(self, merged: &[bool]) -> Vec<Token> {
        let Entries {
            mut tokens,
            ids,
            pieces,
        } = self;
        if tokens.last().is_some_and(|t| t.bytes.is_empty() && t.lossy) {
            tokens.pop();
        }
        for (i, t) in tokens.iter_mut().enumerate() {
            let piece_len = ids[i].and_then(|id| pieces.get(&id).copied());
            t.merged = merged.get(i).copied().unwrap_or(false)
                || match piece_len {
                    Some(len) => t.bytes.len() > len,
                    None => starts_with_held_back(&t.bytes),
                };
        }
        tokens
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
