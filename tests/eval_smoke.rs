//! `hedge eval` and `hedge calibrate` end to end on three hand-written Mu-SHROOM-format records,
//! scored by SmolLM2-135M-Instruct inside hedge (feature `local`; the model as in
//! tests/local_scorer.rs). The full validation run is a documented command
//! (docs/evaluation.md), not a test. Run with `.ci/local-feature.sh`.
#![cfg(feature = "local")]

use std::path::Path;
use std::process::{Command, Output};

#[path = "common/smollm2.rs"]
mod smollm2;
use smollm2::model_path;

// "Zqxvbrt" is characters 25..32 of the second answer.
const RECORDS: &str = r#"{"id":"smoke-en-1","lang":"EN","model_input":"What is the capital of Italy?","model_output_text":"The capital of Italy is Rome.","hard_labels":[],"soft_labels":[]}
{"id":"smoke-en-2","lang":"EN","model_input":"What is the capital of France?","model_output_text":"The capital of France is Zqxvbrt.","hard_labels":[[25,32]],"soft_labels":[{"start":25,"end":32,"prob":1.0}]}
{"id":"smoke-de-1","lang":"DE","model_input":"Wer schrieb Faust?","model_output_text":"Faust wurde von Goethe geschrieben.","hard_labels":[],"soft_labels":[{"start":16,"end":22,"prob":0.25}]}
"#;

fn hedge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn eval_and_calibrate_on_three_records() {
    let Some(model) = model_path() else { return };
    let model = model.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smoke.jsonl"), RECORDS).unwrap();
    let args = [
        "eval",
        "smoke.jsonl",
        "--model",
        model,
        "--traces",
        "traces",
        "--predictions",
        "pred.jsonl",
    ];
    let o = hedge(dir.path(), &args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(err.contains("hedge: scored 3 answers in "), "{err}");
    assert!(
        err.ends_with("hedge: wrote 3 predictions to pred.jsonl\n"),
        "{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[0],
        "SmolLM2-135M-Instruct.Q4_1.gguf (chatml context), measure claim-min-p (content spread) at p < 0.150; AUCs over characters against the hard labels"
    );
    // The baselines are exact: EN mark-all IoU = (0 + 7/33) / 2; DE has no hard label, so
    // marking everything scores 0 and marking nothing 1; Cor is 1 only where the reference
    // soft vector is constant (smoke-en-1).
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let de = cols(lines[2]);
    let en = cols(lines[3]);
    let all = cols(lines[4]);
    assert_eq!((&de[0][..], &de[1][..]), ("DE", "1"));
    assert_eq!(&de[6..], ["0.000", "0.000", "1.000", "0.000"]);
    assert_eq!((&en[0][..], &en[1][..]), ("EN", "2"));
    assert_eq!(&en[6..], ["0.106", "0.500", "0.500", "0.500"]);
    assert_eq!(&all[6..], ["0.071", "0.333", "0.667", "0.333"]);

    // The invented name is the least likely word: it is marked, and only it.
    let pred = std::fs::read_to_string(dir.path().join("pred.jsonl")).unwrap();
    let pred: Vec<serde_json::Value> = pred
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = pred.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["smoke-en-1", "smoke-en-2", "smoke-de-1"]);
    let hard = &pred[1]["hard_labels"];
    assert!(
        hard.as_array()
            .unwrap()
            .iter()
            .any(|s| s[0].as_u64() <= Some(25) && s[1].as_u64() >= Some(32)),
        "{hard}"
    );

    // A second run reads the saved traces and prints the same report.
    let o2 = hedge(dir.path(), &args[..6]);
    assert_eq!(String::from_utf8_lossy(&o2.stdout), out);
    assert_eq!(
        std::fs::read_dir(dir.path().join("traces"))
            .unwrap()
            .count(),
        3
    );

    // Calibration on the same records (from the saved traces).
    let o = hedge(
        dir.path(),
        &[
            "calibrate",
            "smoke.jsonl",
            "--model",
            model,
            "--traces",
            "traces",
            "--out",
            "cal.json",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}");
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cal.json")).unwrap())
            .unwrap();
    // 6 + 6 + 5 words, one of them ("Zqxvbrt") wrong.
    assert_eq!(cal["n"], 17);
    assert_eq!(cal["wrong"], 1);
    assert_eq!(cal["matches"], serde_json::json!(["smollm2-135m-instruct"]));
    assert!(out.starts_with("17 words (1 wrong, 5.9%), "), "{out}");
    // It refuses to overwrite.
    let o = hedge(
        dir.path(),
        &[
            "calibrate",
            "smoke.jsonl",
            "--model",
            model,
            "--out",
            "cal.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: cal.json: already exists; hedge does not overwrite files\n"
    );
}
