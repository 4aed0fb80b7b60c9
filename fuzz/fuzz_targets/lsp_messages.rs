//! The language server under random JSON-RPC frames and params: it never stops answering.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|msgs: Vec<hedge_fuzz::lsp::Msg>| {
    hedge_fuzz::lsp::session(&msgs);
});
