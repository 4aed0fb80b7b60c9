use super::*;

fn toks(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn run(parts: &[&str], doc: &str) -> Alignment {
    let t = toks(parts);
    align(t.iter().map(|v| v.as_slice()), doc)
}

fn slices<'a>(a: &Alignment, doc: &'a str) -> Vec<Option<&'a str>> {
    a.ranges
        .iter()
        .map(|r| r.clone().map(|r| &doc[r]))
        .collect()
}

#[test]
fn verbatim_inside_a_longer_document() {
    let doc = "# Notes\n\nWritten by me.\n\nThe capital of France is Paris.\n\nMore by me.";
    let a = run(
        &["The", " capital", " of", " France", " is", " Paris", "."],
        doc,
    );
    assert_eq!(a.verbatim_at, Some(25));
    assert_eq!(a.ranges[5], Some(49..55));
    assert_eq!(&doc[49..55], " Paris");
    assert_eq!((a.aligned, a.total), (7, 7));
}

#[test]
fn split_characters_mark_the_whole_character() {
    // OpenAI's 💙 arrives as F0 9F 92 + 99.
    let parts: Vec<Vec<u8>> = vec![
        b"I ".to_vec(),
        vec![0xF0, 0x9F, 0x92],
        vec![0x99],
        b" it".to_vec(),
    ];
    let doc = "x I 💙 it";
    let a = align(parts.iter().map(|v| v.as_slice()), doc);
    assert_eq!(
        a.ranges,
        vec![Some(2..4), Some(4..8), Some(4..8), Some(8..11)]
    );
}

#[test]
fn edited_words_lose_their_range_and_the_rest_keep_theirs() {
    let gen = [
        "The",
        " study",
        " was",
        " published",
        " in",
        " 2008",
        " by",
        " Smith",
        " and",
        " colleagues",
        " at",
        " Oxford",
        ".",
    ];
    let doc = "The study was published in 2011 by Smith and colleagues at Oxford.";
    let a = run(&gen, doc);
    let s = slices(&a, doc);
    assert_eq!(s[5], None, "the edited year must not be placed");
    assert_eq!(s[4], Some(" in"));
    assert_eq!(s[6], Some(" by"));
    assert_eq!(s[11], Some(" Oxford"));
    assert_eq!((a.aligned, a.total), (12, 13));
}

#[test]
fn inserted_and_deleted_sentences() {
    let gen = [
        "Alpha", " beta", " gamma", " delta", ".", " Epsilon", " zeta", " eta", " theta", ".",
        " Iota", " kappa", " lambda", " mu", ".",
    ];
    let doc = "Alpha beta gamma delta. A sentence I added myself here. Iota kappa lambda mu.";
    let a = run(&gen, doc);
    let s = slices(&a, doc);
    assert_eq!(s[0], Some("Alpha"));
    assert_eq!(s[4], Some("."));
    // The deleted sentence's final "." may pair with the inserted one's: same text, same place.
    for (i, t) in s.iter().enumerate().take(9).skip(5) {
        assert_eq!(*t, None, "token {i} was deleted");
    }
    assert_eq!(s[10], Some(" Iota"));
    assert_eq!(s[14], Some("."));
}

#[test]
fn reflowed_whitespace_still_matches() {
    let gen = ["One", " two", " three", " four", " five", " six", " seven"];
    let doc = "One two three\nfour five  six seven";
    let a = run(&gen, doc);
    let s = slices(&a, doc);
    assert_eq!(s[3], Some("\nfour"));
    assert_eq!(s[5], Some("  six"));
    assert_eq!(a.aligned, 7);
}

#[test]
fn a_different_document_aligns_almost_nothing() {
    let gen = [
        "Marie", " Curie", " was", " born", " in", " Warsaw", " in", " 1867", " and", " won",
        " two", " Nobel", " prizes", ".",
    ];
    let doc = "The weather in the mountains was cold, and the road to the village was closed for the winter.";
    let a = run(&gen, doc);
    assert!(a.coverage() < 0.2, "coverage {}", a.coverage());
}

#[test]
fn cjk_edit_is_local() {
    let gen = ["我", "喜欢", "北京", "的", "秋天", "。"];
    let doc = "我喜欢上海的秋天。";
    let a = run(&gen, doc);
    let s = slices(&a, doc);
    assert_eq!(s[2], None);
    assert_eq!(s[4], Some("秋天"));
}

#[test]
fn empty_tokens_are_not_counted() {
    let a = run(&["Hi", "", " there"], "Hi there");
    assert_eq!(a.total, 2);
    assert_eq!(a.ranges[1], None);
}

#[test]
fn long_document_with_scattered_edits() {
    // 2,000 sentences; every 7th word changed. Tokens on untouched words keep exact ranges.
    let mut gen = Vec::new();
    for i in 0..2000 {
        gen.push(format!(" Sentence{i}"));
        gen.push(" talks".to_string());
        gen.push(" about".to_string());
        gen.push(format!(" topic{}", i % 37));
        gen.push(".".to_string());
    }
    let mut doc = String::new();
    let mut expect = Vec::new();
    for (k, t) in gen.iter().enumerate() {
        if k % 7 == 3 {
            doc.push_str(" edited");
            expect.push(None);
        } else {
            expect.push(Some(doc.len()..doc.len() + t.len()));
            doc.push_str(t);
        }
    }
    let a = align(gen.iter().map(|s| s.as_bytes()), &doc);
    let kept = expect
        .iter()
        .zip(&a.ranges)
        .filter(|(e, r)| e.is_some() && e == r)
        .count();
    let untouched = expect.iter().filter(|e| e.is_some()).count();
    assert!(kept * 100 >= untouched * 95, "kept {kept} of {untouched}");
    let wrong = expect
        .iter()
        .zip(&a.ranges)
        .filter(|(e, r)| r.is_some() && e != r)
        .count();
    assert_eq!(wrong, 0);
}
