//! `hedge eval` and `hedge calibrate` in a hedge built without the `local` feature say how to
//! get it (they score every answer with a local model).
#![cfg(not(feature = "local"))]

use std::process::Command;

const MSG: &str = "this hedge was built without the `local` feature; rebuild with `cargo build --release --features local`";

#[test]
fn eval_and_calibrate_need_the_local_feature() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("val.jsonl"),
        r#"{"id":"val-en-1","lang":"EN","model_input":"Q?","model_output_text":"A.","hard_labels":[],"soft_labels":[]}"#,
    )
    .unwrap();
    for args in [
        &["eval", "val.jsonl", "--model", "m.gguf"][..],
        &[
            "calibrate",
            "val.jsonl",
            "--model",
            "m.gguf",
            "--out",
            "c.json",
        ][..],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim(), format!("hedge: {MSG}"), "{args:?}");
        assert!(o.stdout.is_empty());
    }
    assert!(!dir.path().join("c.json").exists());
}
