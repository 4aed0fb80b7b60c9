//! Every trace reader, format detection and the saved-response reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hedge_fuzz::checks::trace_bytes(data);
});
