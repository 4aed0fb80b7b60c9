//! Sentence bounds of an all-ASCII text, the same as unicode-segmentation's
//! `split_sentence_bound_indices` (UAX #29) gives, found several times faster: the rules are
//! that crate's state machine step for step, but a character's class comes from a table of the
//! 128 ASCII characters instead of a search of the Unicode tables, which took most of the time
//! of finding a document's spans. A test compares both on every ASCII character in many
//! contexts.

/// The sentence-break classes (UAX #29, Sentence_Break) that ASCII characters have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Other,
    Cr,
    Lf,
    Sp,
    Lower,
    Upper,
    Numeric,
    ATerm,
    STerm,
    Close,
    SContinue,
}

fn class(b: u8) -> Class {
    match b {
        b'\r' => Class::Cr,
        b'\n' => Class::Lf,
        b'\t' | 0x0b | 0x0c | b' ' => Class::Sp,
        b'a'..=b'z' => Class::Lower,
        b'A'..=b'Z' => Class::Upper,
        b'0'..=b'9' => Class::Numeric,
        b'.' => Class::ATerm,
        b'!' | b'?' => Class::STerm,
        b'"' | b'\'' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => Class::Close,
        b',' | b'-' | b':' | b';' => Class::SContinue,
        _ => Class::Other,
    }
}

/// What the last characters were, runs of `Close` and of `Sp` counting as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Sot,
    Other,
    Cr,
    Lf,
    ATerm,
    UpperLower,
    ClosePlus,
    SpPlus,
    STerm,
}

/// The last four parts, the latest last.
type State = [Part; 4];

fn advance(s: State, c: Class) -> State {
    match (s[3], c) {
        (Part::ClosePlus, Class::Close) | (Part::SpPlus, Class::Sp) => s,
        _ => [
            s[1],
            s[2],
            s[3],
            match c {
                Class::Cr => Part::Cr,
                Class::Lf => Part::Lf,
                Class::ATerm => Part::ATerm,
                Class::Upper | Class::Lower => Part::UpperLower,
                Class::Close => Part::ClosePlus,
                Class::Sp => Part::SpPlus,
                Class::STerm => Part::STerm,
                _ => Part::Other,
            },
        ],
    }
}

fn is_terminator(p: Part) -> bool {
    matches!(p, Part::ATerm | Part::STerm)
}

/// The index of the part before any `Sp*` and then any `Close*` at the end of `s`.
fn before_close_sp(s: &State, from: usize) -> usize {
    let mut i = if s[from] == Part::SpPlus {
        from - 1
    } else {
        from
    };
    if s[i] == Part::ClosePlus {
        i -= 1;
    }
    i
}

/// SB8: ATerm Close* Sp* × ( ¬(OLetter | Upper | Lower | ParaSep | SATerm) )* Lower
fn sb8(s: &State, ahead: &[u8]) -> bool {
    s[before_close_sp(s, 3)] == Part::ATerm
        && ahead.iter().map(|&b| class(b)).find(|c| {
            matches!(
                c,
                Class::Lower | Class::Upper | Class::Cr | Class::Lf | Class::STerm | Class::ATerm
            )
        }) == Some(Class::Lower)
}

/// SATerm Close* Sp* at the end of `s` (SB8a, SB10).
fn sb8a(s: &State) -> bool {
    is_terminator(s[before_close_sp(s, 3)])
}

/// SATerm Close* at the end of `s` (SB9).
fn sb9(s: &State) -> bool {
    is_terminator(s[if s[3] == Part::ClosePlus { 2 } else { 3 }])
}

/// SATerm Close* Sp* ParaSep? at the end of `s` (SB11).
fn sb11(s: &State) -> bool {
    let last = if matches!(s[3], Part::Cr | Part::Lf) {
        2
    } else {
        3
    };
    is_terminator(s[before_close_sp(s, last)])
}

/// The sentences of `text`, which must be all ASCII, with their byte offsets: what
/// `text.split_sentence_bound_indices()` gives.
pub(crate) fn sentence_bound_indices(text: &str) -> Vec<(usize, &str)> {
    debug_assert!(text.is_ascii());
    let d = text.as_bytes();
    let mut starts = Vec::new();
    let mut state: State = [Part::Sot; 4];
    for (i, &b) in d.iter().enumerate() {
        let c = class(b);
        let before = state;
        state = advance(state, c);
        let breaks = match c {
            _ if before[3] == Part::Sot => true,                   // SB1
            Class::Lf if before[3] == Part::Cr => false,           // SB3
            _ if matches!(before[3], Part::Cr | Part::Lf) => true, // SB4
            Class::Numeric if before[3] == Part::ATerm => false,   // SB6
            Class::Upper if before[2] == Part::UpperLower && before[3] == Part::ATerm => false, // SB7
            _ if sb8(&before, &d[i..]) => false,
            Class::SContinue | Class::STerm | Class::ATerm if sb8a(&before) => false,
            Class::Close | Class::Sp | Class::Cr | Class::Lf if sb9(&before) => false,
            Class::Sp | Class::Cr | Class::Lf if sb8a(&before) => false, // SB10
            _ => sb11(&before),
        };
        if breaks {
            starts.push(i);
        }
    }
    starts.push(d.len());
    starts
        .windows(2)
        .map(|w| (w[0], &text[w[0]..w[1]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sentence_bound_indices;
    use unicode_segmentation::UnicodeSegmentation;

    fn same_as_unicode_segmentation(text: &str) {
        let general: Vec<(usize, &str)> = text.split_sentence_bound_indices().collect();
        assert_eq!(sentence_bound_indices(text), general, "{text:?}");
    }

    #[test]
    fn sentences_of_plain_prose() {
        let text = "He met Dr. Smith at 3.14 p.m. in the U.S. Then he left! Did he? \"Yes.\" (No.)  Fine\r\nNext line.\n";
        let got: Vec<&str> = sentence_bound_indices(text)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(
            got,
            [
                "He met Dr. ",
                "Smith at 3.14 p.m. in the U.S. ",
                "Then he left! ",
                "Did he? ",
                "\"Yes.\" ",
                "(No.)  ",
                "Fine\r\n",
                "Next line.\n"
            ]
        );
        same_as_unicode_segmentation(text);
        assert_eq!(sentence_bound_indices(""), []);
    }

    /// Every ASCII character, in random strings weighted towards the characters the rules
    /// name, against unicode-segmentation.
    #[test]
    fn the_same_bounds_as_unicode_segmentation() {
        let mut rng = crate::test_rng::Xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        let named = b"aZ9 .!?\"')],-:;\r\n\tx.A";
        let mut sentences = 0;
        for _ in 0..20_000 {
            let len = next(30);
            let text: String = (0..len)
                .map(|_| {
                    if next(4) == 0 {
                        next(128) as u8 as char
                    } else {
                        named[next(named.len())] as char
                    }
                })
                .collect();
            same_as_unicode_segmentation(&text);
            sentences += sentence_bound_indices(&text).len();
        }
        assert!(sentences > 50_000, "{sentences}");
        let all: String = (0u8..128).map(char::from).collect();
        same_as_unicode_segmentation(&all);
    }
}
