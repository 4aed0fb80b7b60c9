use super::*;

fn kinds(doc: &str, kind: SpanKind) -> Vec<&str> {
    segment(doc, 0..doc.len())
        .into_iter()
        .filter(|s| s.kind == kind)
        .map(|s| &doc[s.range])
        .collect()
}

#[test]
fn citations_of_every_shape() {
    let doc = "Attention was introduced by Vaswani et al. (2017) and scaled up (Brown et al., 2020; Kaplan 2020). \
               See [3] and doi 10.1145/3442188.3445922, arXiv:2005.14165v4, https://example.org/paper.pdf. \
               ISBN 978-0-262-03561-3.";
    assert_eq!(
        kinds(doc, SpanKind::Citation),
        vec![
            "Vaswani et al. (2017)",
            "(Brown et al., 2020; Kaplan 2020)",
            "[3]",
            "10.1145/3442188.3445922",
            "arXiv:2005.14165v4",
            "https://example.org/paper.pdf",
            "ISBN 978-0-262-03561-3",
        ]
    );
}

#[test]
fn numbered_citation_links_its_reference_entry() {
    let doc = "Transformers [2] changed NLP.\n\n## References\n\n[1] Smith, J. (2001). Old work.\n[2] Vaswani, A. et al. (2017). Attention Is All You Need.\n";
    let spans = segment(doc, 0..doc.len());
    let bracket = spans
        .iter()
        .find(|s| &doc[s.range.clone()] == "[2]")
        .unwrap();
    let linked = bracket.linked.clone().unwrap();
    assert_eq!(
        &doc[linked],
        "[2] Vaswani, A. et al. (2017). Attention Is All You Need."
    );
    let entries: Vec<&str> = kinds(doc, SpanKind::Citation);
    assert!(entries.contains(&"[1] Smith, J. (2001). Old work."));
    // Names and numbers inside a citation are part of it, not separate claims.
    assert!(!kinds(doc, SpanKind::Name).contains(&"Vaswani"));
    assert!(!kinds(doc, SpanKind::Number).contains(&"2017"));
}

#[test]
fn numbers_dates_and_quantities() {
    let doc =
        "It was released on March 3, 2019 with 175 billion parameters, 12% faster, in 2020-05-28.";
    assert_eq!(
        kinds(doc, SpanKind::Number),
        vec!["March 3, 2019", "175 billion", "12%", "2020-05-28"]
    );
}

#[test]
fn names_skip_sentence_starters() {
    let doc = "The model was built by Ada Lovelace and Alan Turing at Bletchley Park. It worked.";
    assert_eq!(
        kinds(doc, SpanKind::Name),
        vec!["Ada Lovelace", "Alan Turing", "Bletchley Park"]
    );
}

#[test]
fn quoted_titles_words_and_sentences() {
    let doc = "He wrote \"A Theory of Everything\" in one go. Then he slept.";
    assert_eq!(
        kinds(doc, SpanKind::Claim),
        vec!["\"A Theory of Everything\""]
    );
    assert_eq!(
        kinds(doc, SpanKind::Sentence),
        vec![
            "He wrote \"A Theory of Everything\" in one go.",
            "Then he slept."
        ]
    );
    assert_eq!(kinds(doc, SpanKind::Word).len(), 12);
}

#[test]
fn placed_tokens_overlap_lookup() {
    let ranges = vec![
        Some(0..3),
        None,
        Some(3..9),
        Some(9..12),
        Some(9..12),
        Some(12..15),
    ];
    let p = PlacedTokens::new(&ranges);
    assert_eq!(p.overlapping(&(4..10)).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(p.overlapping(&(12..13)).collect::<Vec<_>>(), vec![5]);
    assert_eq!(p.extent(), Some(0..15));
}

#[test]
fn a_search_from_anywhere_finds_the_partition_point() {
    let ends: Vec<usize> = (0..300).map(|i| i / 3 * 5).collect();
    for at in 0..520 {
        let expected = ends.partition_point(|&e| e <= at);
        for near in [0, 1, 2, 7, 150, 298, 299, 300, 1000] {
            assert_eq!(
                gallop(&ends, near, |&e| e <= at),
                expected,
                "at {at} near {near}"
            );
        }
    }
    assert_eq!(gallop(&[] as &[usize], 5, |&e| e <= 3), 0);
}

#[test]
fn a_range_set_answers_as_a_scan_of_its_ranges() {
    let ranges = [3..9, 0..2, 20..21, 5..6, 12..12, 30..40, 31..33];
    let set = RangeSet::new(ranges.iter().cloned());
    for start in 0..45 {
        for end in start..46 {
            let r = start..end;
            let scan = ranges.iter().any(|c| overlaps(c, &r));
            assert_eq!(set.overlaps(&r), scan, "{r:?}");
        }
    }
    assert!(!RangeSet::new([]).overlaps(&(0..10)));
}

#[test]
fn a_references_heading_is_found_after_non_ascii_text() {
    let doc = "Café “quoted” – text.\n\n## References\n- Smith, J. (2019). A Study. Nature.\n";
    let spans = segment(doc, 0..doc.len());
    let entry = doc.find("- Smith").unwrap();
    assert!(spans
        .iter()
        .any(|s| s.kind == SpanKind::Citation && s.range == (entry..doc.len() - 1)));
}

#[test]
fn words_and_sentences_found_in_parts_equal_one_pass() {
    let lines = [
        "In 1867 Marie Curie met Smith et al. (2019) in Paris, and 42% agreed.",
        "e.g. the U.S.A. is large.\tIt said \"Stop.\" then left.",
        "Line with CRLF ending.\r",
        "",
        "\u{301}A combining mark opens this line; naïve café, 東京は大きい。次の文。",
        "Flags 🇫🇷🇩🇪 and a family 👨\u{200d}👩\u{200d}👧 sit here... really?! Yes.",
        "  indented (a quote: 'it's fine.') and 3.14, 1,000 or x_y.",
        "no full stop at the end",
    ];
    let mut text = String::new();
    for k in 0..40 {
        text.push_str(lines[k % lines.len()]);
        text.push('\n');
    }
    text.push_str("The last line has no line feed.");
    let whole = words_and_sentences(&text, 100, usize::MAX);
    let words = whole.iter().filter(|s| s.kind == SpanKind::Word).count();
    let sentences = whole.len() - words;
    assert_eq!((words, sentences), (352, 51));
    assert_eq!(whole[0].range, 100..102, "{:?}", whole[0]);
    for part_bytes in [0, 1, 7, 64, 300, 2000] {
        let parts = words_and_sentences(&text, 100, part_bytes);
        let differ = parts.iter().zip(&whole).position(|(a, b)| a != b);
        assert!(
            parts == whole,
            "parts of {part_bytes} bytes: {} spans against {}, first difference at {differ:?}",
            parts.len(),
            whole.len()
        );
    }
    assert_eq!(words_and_sentences("", 5, 1), Vec::new());
}

/// The ASCII-only path taken for all-ASCII lines gives the words of the general rules.
#[test]
fn ascii_lines_give_the_words_of_the_general_rules() {
    use unicode_segmentation::UnicodeSegmentation;
    let alphabet = b"aZ9_ .,;:'\"-\t\r\n()!?$%/@";
    let mut rng = crate::test_rng::Xorshift(0x2545_f491_4f6c_dd1d);
    let mut next = |n: usize| rng.below(n);
    let mut with_words = 0;
    for _ in 0..3000 {
        let len = next(40);
        let text: String = (0..len)
            .map(|_| alphabet[next(alphabet.len())] as char)
            .collect();
        let general: Vec<(usize, &str)> = text
            .split_word_bound_indices()
            .filter(|(_, w)| w.chars().any(|c| c.is_alphanumeric()))
            .collect();
        let ascii: Vec<(usize, &str)> = text.unicode_word_indices().collect();
        assert_eq!(ascii, general, "{text:?}");
        with_words += usize::from(!general.is_empty());
    }
    assert!(with_words > 2000, "{with_words}");
}
