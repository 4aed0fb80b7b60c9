//! A hedge built without the `local` feature says how to get the local scorer when asked for it.
#![cfg(not(feature = "local"))]

use std::process::Command;

const MSG: &str = "this hedge was built without the `local` feature; rebuild with `cargo build --release --features local`";

#[test]
fn model_flags_say_how_to_get_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.md"), "Some text.\n").unwrap();
    for args in [
        &["check", "--model", "m.gguf", "notes.md"][..],
        &["show", "--model", "m.gguf", "notes.md"][..],
        &["score", "notes.md", "--model", "m.gguf"][..],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim(), format!("hedge: {MSG}"), "{args:?}");
    }
    assert!(!dir.path().join("notes.md.logprobs.jsonl").exists());
}
