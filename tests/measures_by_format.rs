//! Per-token measures through each reader equal the definitions applied to the raw JSON
//! numbers (1e-6), and so do the sequence's joint ln p and perplexity.

use serde_json::Value;

use hedge::measure::{measure_tokens, sequence_measures};
use hedge::trace::parse_trace;

const V: u64 = 50_000;

/// (chosen ln p or None, ln p of listed alternatives other than the chosen token, whether the
/// chosen token was among the listed ones)
type Raw = (Option<f64>, Vec<f64>, bool);

fn load(name: &str) -> (Vec<u8>, Value) {
    let path = format!(
        "{}/tests/fixtures/traces/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (bytes, v)
}

fn sentinel(lp: f64) -> Option<f64> {
    (lp > -9999.0).then_some(lp)
}

fn chat(v: &Value) -> Vec<Raw> {
    entries(&v["choices"][0]["logprobs"]["content"])
}

/// Chat-shaped entries (also llama.cpp's `completion_probabilities`): the chosen token is the
/// listed one with the same id, else the same token string.
fn entries(list: &Value) -> Vec<Raw> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let lp = e["logprob"].as_f64().and_then(sentinel);
            let mut listed = false;
            let mut others = Vec::new();
            for a in e["top_logprobs"].as_array().unwrap() {
                let Some(x) = a["logprob"].as_f64().and_then(sentinel) else {
                    continue;
                };
                let same = match (a.get("id"), e.get("id")) {
                    (Some(x), Some(y)) => x == y,
                    _ => a["token"] == e["token"],
                };
                if same {
                    listed = true;
                } else {
                    others.push(x);
                }
            }
            (lp, others, listed)
        })
        .collect()
}

fn legacy(v: &Value) -> Vec<Raw> {
    let lp = &v["choices"][0]["logprobs"];
    let tokens = lp["tokens"].as_array().unwrap();
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let chosen = lp["token_logprobs"][i].as_f64().and_then(sentinel);
            let mut listed = false;
            let mut others = Vec::new();
            if let Some(top) = lp["top_logprobs"][i].as_object() {
                for (k, x) in top {
                    let Some(x) = x.as_f64().and_then(sentinel) else {
                        continue;
                    };
                    if Some(k.as_str()) == t.as_str() {
                        listed = true;
                    } else {
                        others.push(x);
                    }
                }
            }
            (chosen, others, listed)
        })
        .collect()
}

fn llamacpp_old(v: &Value) -> Vec<Raw> {
    v["completion_probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut chosen = None;
            let mut others = Vec::new();
            for a in e["probs"].as_array().unwrap() {
                let lp = a["prob"].as_f64().unwrap().ln();
                if a["tok_str"] == e["content"] {
                    chosen = Some(lp);
                } else {
                    others.push(lp);
                }
            }
            (chosen, others, chosen.is_some())
        })
        .collect()
}

fn native(bytes: &[u8]) -> Vec<Raw> {
    let text = std::str::from_utf8(bytes).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            let lp = e["logprob"].as_f64().and_then(sentinel);
            let lp = if e["sentinel"] == true { None } else { lp };
            let mut listed = false;
            let mut others = Vec::new();
            for a in e["top"].as_array().cloned().unwrap_or_default() {
                let Some(x) = a["logprob"].as_f64().and_then(sentinel) else {
                    continue;
                };
                if a["text"] == e["text"] && a.get("bytes") == e.get("bytes") {
                    listed = true;
                } else {
                    others.push(x);
                }
            }
            (lp, others, listed)
        })
        .collect()
}

fn h(ps: &[f64]) -> f64 {
    ps.iter().filter(|p| **p > 0.0).map(|p| -p * p.log2()).sum()
}

fn close(what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{what}: {g} != {w}"),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

fn check(name: &str, raw: Vec<Raw>) {
    let (bytes, _) = load(name);
    let trace = parse_trace(&bytes, None).unwrap();
    let m = measure_tokens(&trace, V);
    assert_eq!(m.len(), raw.len(), "{name}: token count");
    for (i, ((lp, others, listed), got)) in raw.iter().zip(&m).enumerate() {
        let what = |x: &str| format!("{name} token {i} {x}");
        if trace.tokens[i].entropy_bits.is_some() {
            continue; // exact entropy given by the source
        }
        close(&what("p"), got.p, lp.map(f64::exp));
        close(
            &what("surprisal"),
            got.surprisal_bits,
            lp.map(|l| -l / std::f64::consts::LN_2),
        );
        let rank = match lp {
            Some(l) if !others.is_empty() || *listed => {
                Some(1 + others.iter().filter(|o| **o > *l).count() as u32)
            }
            _ => None,
        };
        if !others.is_empty() || *listed {
            assert_eq!(got.rank, rank, "{}", what("rank"));
        }
        let mut known: Vec<f64> = others.iter().map(|o| o.exp()).collect();
        if let Some(l) = lp {
            known.push(l.exp());
        }
        if known.is_empty() {
            continue;
        }
        let r = (1.0 - known.iter().sum::<f64>()).max(0.0);
        close(&what("residual"), got.residual_mass, Some(r));
        let mut listed_ps: Vec<f64> = others.iter().map(|o| o.exp()).collect();
        if *listed {
            listed_ps.push(lp.unwrap().exp());
        }
        let c = listed_ps.iter().cloned().fold(f64::INFINITY, f64::min);
        let c = if c.is_finite() { c } else { 1.0 };
        let (low, high) = if r <= 1e-12 {
            (h(&known), h(&known))
        } else {
            let m = (r / c).floor();
            let rho = r - m * c;
            let packed = if m > 0.0 { -m * c * c.log2() } else { 0.0 };
            let low = h(&known) + packed + h(&[rho]);
            let unseen = V as f64 - known.len() as f64;
            (low, h(&known) + r * (unseen / r).log2())
        };
        let e = got.entropy_bits.unwrap();
        close(&what("entropy low"), Some(e.low), Some(low));
        close(&what("entropy high"), Some(e.high), Some(high));
    }
    let lps: Vec<f64> = raw.iter().filter_map(|r| r.0).collect();
    let seq = sequence_measures(&m);
    let joint: f64 = lps.iter().sum();
    close(
        &format!("{name} joint"),
        Some(seq.joint_logprob),
        Some(joint),
    );
    close(
        &format!("{name} perplexity"),
        seq.perplexity,
        Some((-joint / lps.len() as f64).exp()),
    );
}

#[test]
fn openai_chat() {
    let (_, v) = load("openai_chat_emoji.json");
    check("openai_chat_emoji.json", chat(&v));
    let (_, v) = load("v1_chat_logprobs.json");
    check("v1_chat_logprobs.json", chat(&v));
}

#[test]
fn llamacpp_current_shape() {
    let (_, v) = load("completion_nprobs.json");
    check(
        "completion_nprobs.json",
        entries(&v["completion_probabilities"]),
    );
}

#[test]
fn openai_legacy() {
    let (_, v) = load("openai_legacy.json");
    check("openai_legacy.json", legacy(&v));
}

#[test]
fn llamacpp_old_shape() {
    let (_, v) = load("llamacpp_old.json");
    check("llamacpp_old.json", llamacpp_old(&v));
}

#[test]
fn native_jsonl() {
    let (bytes, _) = load("native.jsonl");
    check("native.jsonl", native(&bytes));
}
