//! Alignment of a random trace with a random, edited document.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hedge_fuzz::checks::{alignment, spell, VOCAB};
use hedge_fuzz::AlignInput;

fuzz_target!(|input: AlignInput| {
    let generated = spell(&input.words);
    let g = generated.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    for (i, &c) in input.cuts.iter().chain(std::iter::repeat(&3)).enumerate() {
        if at >= g.len() || i > 4096 {
            break;
        }
        let end = (at + (c as usize % 12) + 1).min(g.len());
        tokens.push(g[at..end].to_vec());
        at = end;
    }
    let mut edited = generated.clone();
    for (pos, del, ins) in &input.edits {
        let s = hedge_fuzz::checks::snap(&edited, *pos as usize % (edited.len() + 1));
        let e = hedge_fuzz::checks::snap(&edited, s + *del as usize % 16).max(s);
        edited.replace_range(s..e, &spell(ins));
    }
    let _ = VOCAB;
    let doc = format!("{}{}{}", spell(&input.before), edited, spell(&input.after));
    alignment(&tokens, &doc);
});
