//! The fast path agrees with the general readers: on every fixture, and on each fixture it
//! takes after edits that keep it valid or break it (a truncation, a changed byte), either it
//! steps aside or it gives exactly the general path's trace.

use std::path::{Path, PathBuf};

use super::super::{finish, parse_general, ReadOptions, TraceFormat};
use super::read;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "json" || x == "jsonl" || x == "txt")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The invariant: when the fast path reads `data`, the general path reads it to the same trace.
fn agrees(data: &[u8], what: &str) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let data = text.as_bytes();
    let Some(fast) = read(data, None) else {
        return false;
    };
    let options = ReadOptions::default();
    assert_eq!(
        finish(fast, &options),
        parse_general(data, None, &options),
        "{what}"
    );
    true
}

#[test]
fn fast_path_agrees_with_the_readers_on_every_fixture() {
    let mut taken = Vec::new();
    for p in fixtures() {
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if agrees(&data, &name) {
            taken.push(name);
        }
    }
    // The fixtures with exact bytes in the chat and llama.cpp shapes.
    for name in [
        "completion_grammar_emoji.json",
        "completion_nprobs.json",
        "deepseek_chat.json",
        "openai_chat_emoji.json",
        "v1_chat_grammar_emoji.json",
        "v1_chat_logprobs.json",
    ] {
        assert!(
            taken.iter().any(|t| t == name),
            "{name} not taken: {taken:?}"
        );
    }
    // Never a prompt-scoring, refusal, token-only or old-shape trace.
    for name in [
        "fireworks_echo_chat.json",
        "openai_chat_refusal.json",
        "openai_chat_nobytes.json",
        "llamacpp_old.json",
        "llamacpp_post_sampling.json",
        "vllm_echo_prompt_logprobs.json",
    ] {
        assert!(!taken.iter().any(|t| t == name), "{name} taken");
    }
}

#[test]
fn fast_path_steps_aside_or_agrees_after_edits() {
    let mut checked = 0;
    for p in fixtures() {
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if read(&data, None).is_none() {
            continue;
        }
        let step = (data.len() / 400).max(1);
        for at in (0..data.len()).step_by(step) {
            agrees(&data[..at], &format!("{name} cut at {at}"));
            for b in [
                b'}', b']', b'"', b'-', b'0', b'9', b' ', b',', b'n', b'\\', b'.', b'e',
            ] {
                let mut edited = data.clone();
                edited[at] = b;
                agrees(&edited, &format!("{name} byte {at} = {}", b as char));
                checked += 1;
            }
        }
        // Valid JSON in another layout and with keys hedge does not use.
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert!(agrees(&pretty, &format!("{name} pretty")), "{name} pretty");
        let mut extra = b"{\"zz\": [1, {\"a\": null, \"b\": [true, false, -0.5e3]}], ".to_vec();
        extra.extend_from_slice(&data[data.iter().position(|&b| b == b'{').unwrap() + 1..]);
        assert!(
            agrees(&extra, &format!("{name} extra key")),
            "{name} extra key"
        );
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn duplicate_keys_deep_nesting_and_streams_go_to_the_general_path() {
    let entry = r#"{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[]}"#;
    let chat = |content: &str| {
        format!(
            r#"{{"choices":[{{"message":{{"content":"a"}},"logprobs":{{"content":[{content}]}}}}]}}"#
        )
    };
    assert!(read(chat(entry).as_bytes(), None).is_some());
    let dup = r#"{"token":"a","logprob":-0.5,"logprob":-0.1,"bytes":[97]}"#;
    assert!(read(chat(dup).as_bytes(), None).is_none());
    let alias = r#"{"id":1,"token_id":1,"token":"a","logprob":-0.5,"bytes":[97]}"#;
    assert!(read(chat(alias).as_bytes(), None).is_none());
    let deep = format!(
        r#"{{"x":{}1{},{}"#,
        "[".repeat(200),
        "]".repeat(200),
        &chat(entry)[1..]
    );
    assert!(read(deep.as_bytes(), None).is_none());
    let two = format!("{}\n{}\n", chat(entry), chat(entry));
    assert!(read(two.as_bytes(), None).is_none());
    let big = r#"{"token":"a","logprob":-1e400,"bytes":[97]}"#;
    assert!(read(chat(big).as_bytes(), None).is_none());
    let byte = r#"{"token":"a","logprob":-0.5,"bytes":[256]}"#;
    assert!(read(chat(byte).as_bytes(), None).is_none());
    // A forced format other than the shape's.
    assert!(read(chat(entry).as_bytes(), Some(TraceFormat::OpenaiChatStream)).is_none());
    assert!(read(chat(entry).as_bytes(), Some(TraceFormat::OpenaiChat)).is_some());
}

/// A chat completion with `n` entries of three alternatives each, some of whose texts look like
/// JSON structure (`},{"`), compact or spread over lines.
fn big_chat(n: usize, pretty: bool) -> String {
    let texts = [
        "Hello",
        " world",
        "},{\"",
        "{\"token\":",
        "\\\"},{",
        " 1867",
        "\n",
        "é",
    ];
    let entry = |i: usize| {
        let t = texts[i % texts.len()];
        let piece = |t: &str| {
            let bytes: Vec<String> = t.bytes().map(|b| b.to_string()).collect();
            (serde_json::to_string(t).unwrap(), bytes.join(","))
        };
        let (tok, bytes) = piece(t);
        let alts: Vec<String> = (0..3)
            .map(|k| {
                let (a, ab) = piece(texts[(i + k + 1) % texts.len()]);
                format!(r#"{{"token":{a},"logprob":-{}.25,"bytes":[{ab}]}}"#, k + 1)
            })
            .collect();
        format!(
            r#"{{"id":{},"token":{tok},"logprob":-0.{},"bytes":[{bytes}],"top_logprobs":[{}]}}"#,
            i % 500,
            i % 97 + 1,
            alts.join(",")
        )
    };
    let sep = if pretty { ",\n      " } else { "," };
    let content: Vec<String> = (0..n).map(entry).collect();
    format!(
        r#"{{"model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"x"}},"logprobs":{{"content":[{}]}}}}],"usage":{{"completion_tokens":{n}}}}}"#,
        content.join(sep)
    )
}

#[test]
fn a_large_array_read_in_parts_equals_the_readers() {
    for pretty in [false, true] {
        let json = big_chat(600, pretty);
        assert!(json.len() > super::SPLIT_BYTES, "{}", json.len());
        let d = json.as_bytes();
        let start = json.find("\"content\":[").unwrap() + "\"content\":[".len();
        for parts in [1, 2, 3, 5] {
            super::PARTS.with(|p| p.set(Some(parts)));
            let splits = super::split_points(d, start, 4, parts);
            assert_eq!(splits.len(), parts - 1, "pretty {pretty}, {parts} parts");
            for (k, &at) in splits.iter().enumerate() {
                assert!(json[at..].starts_with("{\"id\":"), "{}", &json[at..at + 40]);
                let goal = start + (d.len() - start) / parts * (k + 1);
                assert!(
                    (goal..goal + 2000).contains(&at),
                    "{at} not just after {goal}"
                );
            }
            assert!(agrees(d, &format!("pretty {pretty}, {parts} parts")));
            // A cut anywhere near a split still steps aside.
            for &at in &splits {
                for cut in [at - 1, at, at + 1, at + 7] {
                    assert!(
                        read(&d[..cut], None).is_none(),
                        "{parts} parts, cut at {cut}"
                    );
                }
            }
            for cut in [d.len() / 2, d.len() - 3] {
                assert!(
                    read(&d[..cut], None).is_none(),
                    "{parts} parts, cut at {cut}"
                );
            }
        }
        super::PARTS.with(|p| p.set(None));
    }
}

/// A guessed start that is not an entry's start is passed by the reader before it, which then
/// reads on alone: the same tokens; a part that fails is read again, and fails the same way.
#[test]
fn wrong_guesses_of_where_parts_start_give_the_same_tokens() {
    let json = big_chat(600, false);
    let d = json.as_bytes();
    let start = json.find("\"content\":[").unwrap() + "\"content\":[".len();
    let read_from = |splits: &[usize]| {
        let mut s = super::Scan { d, i: start };
        let out = super::entries_split_at(&mut s, 4, splits);
        out.map(|o| (o.tokens, s.i)).ok()
    };
    let (tokens, end) = read_from(&[]).unwrap();
    assert_eq!(tokens.len(), 600);
    assert_eq!(&json[end - 2..end], "}]");
    let good = super::split_points(d, start, 4, 3);
    assert_eq!(good.len(), 2);
    // A `{` inside an entry's text that looks like an entry's start: `},{"` is a token there.
    let inside = good[0] + json[good[0]..].find(r#""token":"},{\""#).unwrap() + 11;
    assert_eq!(&json[inside..inside + 2], "{\\");
    for splits in [
        good.clone(),
        vec![good[0] + 1, good[1]],
        vec![good[0], good[1] + 1],
        vec![inside, good[1]],
        vec![good[0], d.len() - 2],
        vec![good[1]],
    ] {
        let (got, got_end) = read_from(&splits).expect("read");
        assert_eq!((got.len(), got_end), (600, end), "{splits:?}");
        assert!(got == tokens, "{splits:?}");
    }
    // A part that fails (here on a broken entry between the two starts) is read again by the
    // reader before it, which fails the same way: no tokens from a part that did not read.
    let broken_at = good[0] + json[good[0]..].find("\"logprob\":-").unwrap() + 10;
    assert!(broken_at < good[1]);
    let mut broken = json.clone().into_bytes();
    broken[broken_at] = b'x';
    let read_broken = |splits: &[usize]| {
        let mut s = super::Scan {
            d: &broken,
            i: start,
        };
        super::entries_split_at(&mut s, 4, splits).is_ok()
    };
    assert!(!read_broken(&[]));
    assert!(!read_broken(&good));
    // Where each reader stops: at the next part's start, or just after passing it.
    let until = |next: usize| {
        let mut s = super::Scan { d, i: start };
        let mut out = super::Entries::default();
        let never = std::sync::atomic::AtomicBool::new(false);
        let end = super::entries_until(&mut s, 4, &mut out, Some(next), &never);
        (end.ok(), s.i, out.tokens.len())
    };
    let (at_next, at, n) = until(good[0]);
    assert_eq!((at_next, at), (Some(super::PartEnd::AtNext), good[0]));
    assert!((150..=250).contains(&n), "{n}");
    let (passed, at, m) = until(good[0] + 1);
    assert_eq!(passed, Some(super::PartEnd::Passed));
    assert_eq!(m, n + 1);
    assert_eq!(&json[at - 1..=at], ",{");
}
