//! Incremental edits applied to an open document in any chunking give the same text, and the
//! placed tokens and findings follow them.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hedge::position::Encoding;
use hedge_fuzz::checks::{edits, spell, Edit};
use hedge_fuzz::EditInput;

fuzz_target!(|input: EditInput| {
    let text = spell(&input.words);
    let cuts: Vec<usize> = input.token_cuts.iter().map(|&c| c as usize).collect();
    let list: Vec<Edit> = input
        .edits
        .iter()
        .take(64)
        .map(|(at, len, ins, pieces)| Edit {
            at: *at as usize,
            len: *len as usize % 32,
            text: spell(ins),
            pieces: *pieces as usize % 6,
        })
        .collect();
    let enc = [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32][input.encoding as usize % 3];
    edits(&text, &cuts, &input.logprobs, &list, enc);
});
