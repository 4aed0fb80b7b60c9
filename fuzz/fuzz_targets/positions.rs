//! Byte offsets ↔ UTF-8 / UTF-16 / UTF-32 positions, in the CLI's converter and the server's.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hedge_fuzz::checks::{positions, spell};
use hedge_fuzz::PositionInput;

fuzz_target!(|input: PositionInput| {
    let text = input.raw.unwrap_or_else(|| spell(&input.words));
    let offsets: Vec<usize> = input.offsets.iter().map(|&o| o as usize).collect();
    let probes: Vec<(u32, u32)> = input
        .probes
        .iter()
        .map(|&(l, c)| (l as u32 % 64, c as u32))
        .collect();
    positions(&text, &offsets, &probes);
});
