//! The VS Code extension (editors/vscode) in real VS Code: tests/vscode/run.sh packages it to a
//! .vsix, installs it into code-server 4.100.3 (VS Code 1.100.3) served on 127.0.0.1 and drives
//! Debian's Chromium with playwright-core (diagnostics, hover, heatmap tokens, commands, status
//! bar, screenshots in target/vscode-e2e/). Needs tests/vscode/install.sh to have run: without
//! it the test is skipped with a note, except when CI is set, where that is a failure.
//! Also here: the settings the extension contributes are the server's, with its defaults.

use std::process::Command;

use hedge::config::Config;
use hedge::findings::Code;
use hedge::server::settings::Settings;
use serde_json::{Map, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

#[test]
fn vscode_extension_end_to_end() {
    let out = Command::new("bash")
        .arg(format!("{ROOT}/tests/vscode/run.sh"))
        .env("HEDGE_BIN", env!("CARGO_BIN_EXE_hedge"))
        .output()
        .expect("bash runs tests/vscode/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => println!("{stdout}"),
        Some(77) if in_ci() => panic!(
            "the VS Code end-to-end test cannot run: {}\nCI must run tests/vscode/install.sh first",
            stderr.trim()
        ),
        Some(77) => eprintln!(
            "skipped the VS Code end-to-end test ({}); run tests/vscode/install.sh to enable it",
            stderr.trim().replace('\n', "; ")
        ),
        _ => panic!(
            "tests/vscode/run.sh failed ({}):\n{stdout}\n{stderr}",
            out.status
        ),
    }
}

fn camel_to_kebab(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['-', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The extension's settings, their defaults, and the server's own defaults agree.
#[test]
fn vscode_extension_settings_are_the_servers() {
    let pkg: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/editors/vscode/package.json")).unwrap(),
    )
    .unwrap();
    let props = pkg["contributes"]["configuration"]["properties"]
        .as_object()
        .expect("contributes.configuration.properties");
    // What VS Code hands the extension for `getConfiguration("hedge")` with every default:
    // dotted keys nest. The extension sends the server's keys, leaving out nulls.
    let client_only = ["serverPath", "trace.server"];
    let mut section = Map::new();
    for (key, schema) in props {
        let key = key
            .strip_prefix("hedge.")
            .expect("every setting is under hedge.");
        assert!(
            schema["markdownDescription"].is_string() || schema["description"].is_string(),
            "hedge.{key} has no description"
        );
        if client_only.contains(&key) {
            continue;
        }
        let default = schema
            .get("default")
            .unwrap_or_else(|| panic!("hedge.{key} has no default"));
        if default.is_null() {
            continue;
        }
        match key.split_once('.') {
            Some((outer, inner)) => {
                section
                    .entry(outer)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .unwrap()
                    .insert(inner.to_string(), default.clone());
            }
            None => {
                section.insert(key.to_string(), default.clone());
            }
        }
    }
    let sent = Value::Object(section.clone());
    assert_eq!(
        Settings::from_json(&sent).expect("the server accepts the extension's defaults"),
        Settings::default(),
        "the extension's defaults differ from the server's"
    );

    // Every engine setting (and threshold) is contributed.
    let engine = serde_json::to_value(Config::default()).unwrap();
    for (k, v) in engine.as_object().unwrap() {
        if k == "thresholds" {
            for t in v.as_object().unwrap().keys() {
                assert!(
                    props
                        .keys()
                        .any(|p| camel_to_kebab(p) == format!("hedge.thresholds.{t}")),
                    "threshold {t} is not contributed"
                );
            }
        } else {
            assert!(
                props
                    .keys()
                    .any(|p| camel_to_kebab(p) == format!("hedge.{k}")),
                "setting {k} is not contributed"
            );
        }
    }
    for k in [
        "heatmap",
        "sidecarSuffixes",
        "maxDocumentBytes",
        "maxDiagnostics",
        "noteMissingTrace",
    ] {
        assert!(
            props.contains_key(&format!("hedge.{k}")),
            "hedge.{k} is not contributed"
        );
    }

    // The finding codes offered for `disable` and `severity` are the server's.
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let mut offered: Vec<&str> = props["hedge.disable"]["items"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut by_severity: Vec<&str> = props["hedge.severity"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = codes.clone();
    want.sort();
    offered.sort();
    by_severity.sort();
    assert_eq!(offered, want);
    assert_eq!(by_severity, want);

    // extension.js forwards exactly the server's keys.
    let js = std::fs::read_to_string(format!("{ROOT}/editors/vscode/extension.js")).unwrap();
    let list = js
        .split_once("const SERVER_KEYS = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("SERVER_KEYS in extension.js")
        .0;
    let mut forwarded: Vec<String> = list
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut top: Vec<String> = props
        .keys()
        .map(|k| k["hedge.".len()..].split('.').next().unwrap().to_string())
        // serverPath and trace are the client's; scoring and draft are sent only at start, from
        // user settings.
        .filter(|k| !["serverPath", "trace", "scoring", "draft"].contains(&k.as_str()))
        .collect();
    top.sort();
    top.dedup();
    forwarded.sort();
    assert_eq!(
        forwarded, top,
        "SERVER_KEYS in extension.js vs the contributed settings"
    );
}
