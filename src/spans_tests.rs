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
