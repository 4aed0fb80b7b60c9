//! The embedded local scorer (cargo feature `local`): a GGUF model run inside hedge through
//! llama.cpp, scoring existing text teacher-forced, with no server.
//!
//! For every token of the text it records the chosen token's ln p (the log-softmax of the logits
//! at the previous position), the exact entropy of the full next-token distribution in bits, the
//! 20 most likely alternatives, the token id and the token's exact bytes (the model's own token
//! pieces, so a character split over several tokens stays exact).
//!
//! The model keeps the last scored token sequence and its KV cache: scoring an edited text again
//! reuses every token before the first changed one and evaluates only from there on. A text
//! longer than the context is scored in windows of the context's length that overlap by a
//! quarter, each window starting again from the beginning-of-sequence token; the window
//! boundaries depend only on token positions, so an edit re-evaluates only its window onward.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::distribution::Distribution;
use crate::trace::{Alternative, Token, Trace, TraceFormat};

/// How many alternatives each token lists.
pub const TOP_K: usize = 20;

/// The most tokens evaluated in one step (llama-server's own step). Larger steps run faster,
/// but llama.cpp keeps the logits of every token of a step: this × vocabulary × 4 bytes.
const BATCH: usize = 512;

/// The logits one step may hold (32 Mi floats, 128 MiB): 512 tokens of SmolLM2's 49,152-token
/// vocabulary, 128 of Gemma 3's 262,144.
const STEP_LOGITS: usize = 32 << 20;

/// The longest context used by default (the model's training context if that is shorter).
pub const DEFAULT_MAX_CTX: u32 = 4096;

/// How to run the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalOptions {
    /// Context length in tokens (default: the model's training context, at most
    /// [`DEFAULT_MAX_CTX`]). Longer texts are scored in overlapping windows of this length.
    pub n_ctx: Option<u32>,
    /// CPU threads (default: all available).
    pub threads: Option<usize>,
    /// Tokens evaluated per step (default and most: 512, fewer for a large vocabulary).
    pub batch: Option<usize>,
    /// Flash attention on or off (default: llama.cpp's choice for the device).
    pub flash_attention: Option<bool>,
    /// Keep the KV cache in f32 instead of llama.cpp's default f16.
    pub kv_f32: bool,
}

/// What the last [`LocalModel::score`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScoreStats {
    /// Tokens of the text.
    pub text_tokens: usize,
    /// Text tokens whose values were kept from the previous call (unchanged prefix).
    pub reused_tokens: usize,
    /// Tokens run through the model (context, overlap and re-prefixed tokens included).
    pub evaluated_tokens: usize,
    /// Windows the text needed (1 when it fits the context).
    pub windows: usize,
}

/// The last scored sequence: its tokens and the values of its text tokens.
#[derive(Default)]
struct Previous {
    seq: Vec<LlamaToken>,
    prefix_len: usize,
    tokens: Vec<Token>,
}

/// A loaded GGUF model with its context (and KV cache), ready to score text.
pub struct LocalModel {
    // Declared before `model` so that it is dropped first: it points into `*model`.
    ctx: LlamaContext<'static>,
    model: Box<LlamaModel>,
    name: String,
    n_vocab: usize,
    n_ctx: usize,
    batch: usize,
    /// CPU threads (llama.cpp's, and the ones that summarise each row of logits).
    threads: usize,
    /// Token pieces with special tokens rendered, for alternatives (index = token id).
    pieces: Vec<Vec<u8>>,
    /// Beginning-of-sequence token placed before the text (and before each window).
    bos: Option<LlamaToken>,
    add_bos: bool,
    /// The tokens whose keys and values are in the KV cache, at positions 0...
    kv: Vec<LlamaToken>,
    prev: Previous,
    stats: ScoreStats,
}

fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut b = LlamaBackend::init().map_err(|e| format!("cannot start llama.cpp: {e}"))?;
            b.void_logs();
            Ok(b)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Is this file a GGUF model (by its magic bytes)? `Err` is the message naming the file.
fn check_gguf(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{shown}: no such model file"),
        _ => format!("{shown}: cannot be read: {e}"),
    })?;
    if !meta.is_file() {
        return Err(format!("{shown}: is not a file (expected a GGUF model)"));
    }
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                format!("{shown}: is not a GGUF model (it is shorter than a GGUF header)")
            }
            _ => format!("{shown}: cannot be read: {e}"),
        });
    read?;
    if &magic != b"GGUF" {
        return Err(format!(
            "{shown}: is not a GGUF model (it does not start with \"GGUF\"); hedge's local scorer reads llama.cpp's GGUF files"
        ));
    }
    Ok(())
}

impl LocalModel {
    /// Load a GGUF model with default options.
    pub fn load(path: &Path) -> Result<LocalModel, String> {
        LocalModel::load_with(path, LocalOptions::default())
    }

    /// Load a GGUF model. `Err` is one line naming the file.
    pub fn load_with(path: &Path, options: LocalOptions) -> Result<LocalModel, String> {
        check_gguf(path)?;
        let shown = path.display().to_string();
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| format!("{shown}: llama.cpp could not load the model ({e}); is it a complete GGUF file of an architecture this llama.cpp supports?"))?;
        let model = Box::new(model);
        let n_vocab = usize::try_from(model.n_vocab())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{shown}: the model has no vocabulary"))?;
        let train = model.n_ctx_train().max(16);
        let n_ctx = options
            .n_ctx
            .unwrap_or(DEFAULT_MAX_CTX)
            .clamp(16, train.max(16));
        let threads = options
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .clamp(1, 256) as i32;
        let batch = options
            .batch
            .unwrap_or(BATCH)
            .clamp(1, BATCH)
            .min((STEP_LOGITS / n_vocab).max(1))
            .min(n_ctx as usize);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(batch as u32)
            .with_n_ubatch(batch as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            // Keep the whole cache for sliding-window models, so an edit can reuse it.
            .with_swa_full(true);
        let params = match options.flash_attention {
            Some(on) => params.with_flash_attention_policy(i32::from(on)),
            None => params,
        };
        let params = if options.kv_f32 {
            use llama_cpp_2::context::params::KvCacheType;
            params
                .with_type_k(KvCacheType::F32)
                .with_type_v(KvCacheType::F32)
        } else {
            params
        };
        // SAFETY: the context refers to the model through a raw pointer; `model` is boxed (its
        // address never changes) and owned by the same `LocalModel`, which drops `ctx` first
        // (field order). The 'static lifetime never escapes: `ctx` is private.
        let model_ref: &'static LlamaModel = unsafe { &*(model.as_ref() as *const LlamaModel) };
        let ctx = model_ref.new_context(backend, params).map_err(|e| {
            format!("{shown}: llama.cpp could not create a context of {n_ctx} tokens ({e})")
        })?;
        let vocab = model.vocab();
        let pieces = (0..n_vocab)
            .map(|i| vocab.token_to_piece(LlamaToken::new(i as i32), true, None))
            .collect();
        let bos_tok = vocab.bos();
        let bos = (bos_tok.0 >= 0 && (bos_tok.0 as usize) < n_vocab).then_some(bos_tok);
        let add_bos = vocab.should_add_bos() && bos.is_some();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone());
        Ok(LocalModel {
            ctx,
            model,
            name,
            n_vocab,
            n_ctx: n_ctx as usize,
            batch,
            threads: threads as usize,
            pieces,
            bos,
            add_bos,
            kv: Vec::new(),
            prev: Previous::default(),
            stats: ScoreStats::default(),
        })
    }

    /// The model's name as traces record it (the file name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.n_vocab
    }

    /// The context length in tokens (a window's length).
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// What the last [`LocalModel::score`] call did.
    pub fn last_stats(&self) -> ScoreStats {
        self.stats
    }

    /// Forget the previous text and empty the KV cache: the next call scores from scratch.
    pub fn reset(&mut self) {
        self.ctx.clear_kv_cache();
        self.kv.clear();
        self.prev = Previous::default();
    }

    /// Evaluate `text` (after BOS, up to the context's length) in this model's context without
    /// scoring it, and return the tokens evaluated and the seconds taken: with `every_position`
    /// the logits of every position are computed (what scoring needs) but nothing is derived
    /// from them; without it only the last position's are, as a server processes a prompt. The
    /// two parts of scoring's cost, for the benchmark; the KV cache is emptied before and after.
    #[doc(hidden)]
    pub fn time_evaluation(
        &mut self,
        text: &str,
        every_position: bool,
    ) -> Result<(usize, f64), String> {
        let (ids, _) = self.tokenize_text(text)?;
        let mut seq: Vec<LlamaToken> = self.bos.into_iter().collect();
        seq.extend(ids);
        seq.truncate(self.n_ctx);
        self.reset();
        let started = std::time::Instant::now();
        let mut batch = LlamaBatch::new(self.batch, 1);
        for (c, chunk) in seq.chunks(self.batch).enumerate() {
            batch.clear();
            for (j, &tok) in chunk.iter().enumerate() {
                let pos = c * self.batch + j;
                let logits = every_position || pos + 1 == seq.len();
                batch
                    .add(tok, pos as i32, &[0], logits)
                    .map_err(|e| format!("llama.cpp batch: {e}"))?;
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| format!("llama.cpp could not evaluate the text: {e}"))?;
        }
        let secs = started.elapsed().as_secs_f64();
        self.reset();
        Ok((seq.len(), secs))
    }

    /// Score `text` teacher-forced, after the optional `context` (such as the prompt it answered;
    /// it is scored as context, not returned). Tokens before the first change since the previous
    /// call are reused.
    pub fn score(&mut self, text: &str, context: Option<&str>) -> Result<Trace, String> {
        self.score_with_progress(text, context, &mut |_, _| true)
    }

    /// [`LocalModel::score`], calling `progress(done, total)` (tokens to evaluate) after each
    /// step; when it returns false the scoring stops with an error.
    pub fn score_with_progress(
        &mut self,
        text: &str,
        context: Option<&str>,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Trace, String> {
        if text.is_empty() {
            return Err("there is no text to score".into());
        }
        let (text_ids, text_bytes) = self.tokenize_text(text)?;
        // The prefix: BOS as the model wants it (always when there is no context, so the first
        // token of the text has a position to be predicted from), then the context.
        let mut seq = Vec::with_capacity(text_ids.len() + 1);
        let context = context.filter(|c| !c.is_empty());
        if let Some(bos) = self.bos.filter(|_| self.add_bos || context.is_none()) {
            seq.push(bos);
        }
        let lead_bos = !seq.is_empty();
        if let Some(c) = context {
            let ids = self.model.vocab().tokenize(c.as_bytes(), false, true);
            // A long context keeps its last half-context of tokens.
            let keep = ids.len().min(self.n_ctx / 2);
            seq.extend_from_slice(&ids[ids.len() - keep..]);
        }
        let prefix_len = seq.len();
        seq.extend_from_slice(&text_ids);
        let n = seq.len();

        // Positions < `same` hold the same tokens as last time: their values are kept.
        let same = common_prefix(&self.prev.seq, &seq);
        let mut out: Vec<Option<Token>> = vec![None; text_ids.len()];
        let mut reused = 0;
        for (i, slot) in out.iter_mut().enumerate() {
            let pos = prefix_len + i;
            if pos >= same || pos < self.prev.prefix_len {
                continue;
            }
            if let Some(t) = self.prev.tokens.get(pos - self.prev.prefix_len) {
                *slot = Some(t.clone());
                reused += 1;
            }
        }

        let windows = windows(n, self.n_ctx, lead_bos);
        let todo: usize = windows
            .iter()
            .filter(|w| needs(w, &out, prefix_len))
            .map(|w| w.end - w.eval_start + usize::from(w.rebos))
            .sum();
        let mut stats = ScoreStats {
            text_tokens: text_ids.len(),
            reused_tokens: reused,
            evaluated_tokens: 0,
            windows: windows.len(),
        };
        for w in &windows {
            if !needs(w, &out, prefix_len) {
                continue;
            }
            self.run_window(
                w,
                &seq,
                prefix_len,
                &text_bytes,
                &mut out,
                &mut stats,
                todo,
                progress,
            )?;
        }
        self.stats = stats;

        let tokens: Vec<Token> = out
            .into_iter()
            .zip(text_bytes)
            .zip(&text_ids)
            .map(|((t, bytes), id)| {
                t.unwrap_or_else(|| Token {
                    bytes: bytes.into(),
                    id: Some(id.0 as u32),
                    ..Token::default()
                })
            })
            .collect();
        self.prev = Previous {
            seq,
            prefix_len,
            tokens: tokens.clone(),
        };
        let mut trace = Trace::new(TraceFormat::Native, tokens);
        trace.vocab_size = u32::try_from(self.n_vocab).ok();
        trace.model = Some(self.name.clone());
        trace.stated_text = Some(text.to_string());
        trace.stated_token_count = Some(trace.tokens.len());
        Ok(trace)
    }

    /// The text's tokens and each one's exact bytes; `Err` when the model's tokenizer does not
    /// give the text back byte for byte.
    fn tokenize_text(&self, text: &str) -> Result<(Vec<LlamaToken>, Vec<Vec<u8>>), String> {
        let vocab = self.model.vocab();
        let ids = vocab.tokenize(text.as_bytes(), false, false);
        let mut bytes: Vec<Vec<u8>> = ids
            .iter()
            .map(|&t| vocab.token_to_piece(t, false, None))
            .collect();
        let joined: Vec<u8> = bytes.concat();
        if joined == text.as_bytes() {
            return Ok((ids, bytes));
        }
        // SentencePiece tokenizers that add a space in front of the text.
        if joined.first() == Some(&b' ') && &joined[1..] == text.as_bytes() {
            if let Some(first) = bytes.first_mut().filter(|b| b.first() == Some(&b' ')) {
                first.remove(0);
                return Ok((ids, bytes));
            }
        }
        let at = joined
            .iter()
            .zip(text.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
        Err(format!(
            "the model's tokenizer does not give the text back byte for byte (they differ from byte {at}: it normalises the text), so its tokens cannot be placed on the document"
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_window(
        &mut self,
        w: &Window,
        seq: &[LlamaToken],
        prefix_len: usize,
        text_bytes: &[Vec<u8>],
        out: &mut [Option<Token>],
        stats: &mut ScoreStats,
        todo: usize,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<(), String> {
        // The window's tokens at cache positions 0..: [BOS] + seq[eval_start..end].
        let mut win: Vec<LlamaToken> = Vec::with_capacity(w.end - w.eval_start + 1);
        if w.rebos {
            win.extend(self.bos);
        }
        win.extend_from_slice(&seq[w.eval_start..w.end]);
        let offset = usize::from(w.rebos); // window index = seq position - eval_start + offset
        let to_win = |pos: usize| pos - w.eval_start + offset;
        // The first sequence position in this window that still needs a value.
        let first = (w.score_start.max(prefix_len)..w.end)
            .find(|&p| out[p - prefix_len].is_none())
            .expect("needs() found one");
        let first_win = to_win(first);
        // Logits of the position before `first` are needed, so evaluation starts there at the
        // latest; what the cache already holds before that is kept.
        let mut start = common_prefix(&self.kv, &win).min(first_win.saturating_sub(1));
        if start < self.kv.len() {
            let removed = u32::try_from(start)
                .ok()
                .and_then(|p0| self.ctx.kv_cache_seq_rm(0, Some(p0), None).ok());
            if removed.is_none() {
                // Caches that cannot drop a tail (recurrent models): start over.
                self.ctx.clear_kv_cache();
                start = 0;
            }
            self.kv.truncate(start);
        }
        let mut batch = LlamaBatch::new(self.batch, 1);
        let mut i = start;
        while i < win.len() {
            let end = (i + self.batch).min(win.len());
            batch.clear();
            let mut rows = Vec::new();
            for (j, &tok) in win.iter().enumerate().take(end).skip(i) {
                // Logits at j predict the token at j + 1: wanted when that one is scored here.
                let want = j + 1 < win.len() && j + 1 >= first_win && {
                    let pos = j + 1 + w.eval_start - offset;
                    pos >= w.score_start && pos >= prefix_len && out[pos - prefix_len].is_none()
                };
                batch
                    .add(tok, j as i32, &[0], want)
                    .map_err(|e| format!("llama.cpp batch: {e}"))?;
                if want {
                    rows.push((batch.n_tokens() - 1, j));
                }
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| format!("llama.cpp could not evaluate the text: {e}"))?;
            self.kv.extend_from_slice(&win[i..end]);
            // Each row's softmax, entropy and top-k over the whole vocabulary, on all threads.
            let work: Vec<(usize, &[f32], LlamaToken)> = rows
                .iter()
                .map(|&(row, j)| {
                    let pos = j + 1 + w.eval_start - offset;
                    (pos, self.ctx.get_logits_ith(row), win[j + 1])
                })
                .collect();
            let pieces = &self.pieces;
            let per = work.len().div_ceil(self.threads.max(1)).max(1);
            let done: Vec<(usize, Token)> = std::thread::scope(|scope| {
                let handles: Vec<_> = work
                    .chunks(per)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|&(pos, logits, next)| {
                                    let bytes = &text_bytes[pos - prefix_len];
                                    (pos, token_at(pieces, logits, next, bytes))
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("a scoring thread"))
                    .collect()
            });
            for (pos, t) in done {
                out[pos - prefix_len] = Some(t);
            }
            stats.evaluated_tokens += end - i;
            i = end;
            if !progress(stats.evaluated_tokens.min(todo), todo) {
                return Err("scoring was cancelled".into());
            }
        }
        Ok(())
    }
}

/// The values of token `next` from the logits of the position before it (`pieces`: each token
/// id's bytes, for the alternatives).
fn token_at(pieces: &[Vec<u8>], logits: &[f32], next: LlamaToken, bytes: &[u8]) -> Token {
    let d = Distribution::of(logits);
    let id = next.0 as usize;
    let top = d
        .top(logits, TOP_K)
        .into_iter()
        .map(|(i, lp)| Alternative {
            bytes: pieces.get(i).map(|p| p[..].into()).unwrap_or_default(),
            logprob: lp,
            id: Some(i as u32),
        })
        .collect();
    Token {
        bytes: bytes.into(),
        logprob: logits.get(id).map(|&l| d.logprob(l)),
        id: Some(id as u32),
        top,
        entropy_bits: Some(d.entropy_bits),
        ..Token::default()
    }
}

/// A window of the token sequence: evaluated from `eval_start` (after a fresh BOS when `rebos`),
/// it gives the values of the positions `score_start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    eval_start: usize,
    score_start: usize,
    end: usize,
    rebos: bool,
}

/// Split `n` positions into windows of at most `n_ctx` tokens that overlap by a quarter. The
/// boundaries depend only on the positions, never on the tokens, so an edit leaves the windows
/// before it unchanged.
fn windows(n: usize, n_ctx: usize, lead_bos: bool) -> Vec<Window> {
    let first_end = n.min(n_ctx);
    let mut out = vec![Window {
        eval_start: 0,
        score_start: 0,
        end: first_end,
        rebos: false,
    }];
    let overlap = n_ctx / 4;
    let rebos = usize::from(lead_bos);
    let mut start = first_end;
    while start < n {
        // Don't start a window on the BOS itself.
        let eval_start = (start - overlap).max(rebos);
        let end = n.min(eval_start + n_ctx - rebos);
        out.push(Window {
            eval_start,
            score_start: start,
            end,
            rebos: lead_bos,
        });
        start = end;
    }
    out
}

/// Does the window give a value that is still missing?
fn needs(w: &Window, out: &[Option<Token>], prefix_len: usize) -> bool {
    (w.score_start.max(prefix_len).max(1)..w.end).any(|p| out[p - prefix_len].is_none())
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_position_once() {
        for lead in [false, true] {
            for n in [1, 15, 16, 17, 40, 100] {
                let ws = windows(n, 16, lead);
                let mut next = 0;
                for w in &ws {
                    assert_eq!(w.score_start, next);
                    assert!(w.end - w.eval_start + usize::from(w.rebos) <= 16, "{w:?}");
                    assert!(w.eval_start < w.score_start || w.score_start == 0);
                    next = w.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn missing_and_foreign_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.gguf");
        let e = LocalModel::load(&missing).err().unwrap();
        assert!(e.contains("no such model file"), "{e}");
        let text = dir.path().join("notes.gguf");
        std::fs::write(&text, "hello, not a model").unwrap();
        let e = LocalModel::load(&text).err().unwrap();
        assert!(e.contains("is not a GGUF model"), "{e}");
    }
}
