//! What a workspace cannot do: name a scoring endpoint or an API-key variable (through
//! `hedge.toml`, `workspace/configuration` or `didChangeConfiguration`), read files outside a
//! document's folder through a sidecar link, or make `hedge draft` overwrite a file. And an API
//! key never appears in anything hedge prints or sends to the editor.

mod common;
mod http_fixture;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{file_uri, Client};
use hedge::source::http::ServerKind;
use http_fixture::scoring::{fixture_for, hedge, text};
use http_fixture::{serve, Reply};
use serde_json::{json, Value};

const KEY: &str = "sk-security-7a6b5c4d3e2f1a0b";
const DOC: &str = "Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie.\n";

#[test]
fn hedge_toml_cannot_name_an_endpoint_or_a_key_variable() {
    let fx = fixture_for(ServerKind::Vllm);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.md"), DOC).unwrap();
    let tomls = [
        (
            format!("[scoring]\nserver = \"vllm\"\nendpoint = \"{}\"\n", fx.base),
            "unknown field `scoring`",
        ),
        (
            format!("endpoint = \"{}\"\n", fx.base),
            "unknown field `endpoint`",
        ),
        (
            "api-key-env = \"HOME\"\n".to_string(),
            "unknown field `api-key-env`",
        ),
    ];
    for (toml, field) in tomls {
        std::fs::write(dir.path().join("hedge.toml"), toml).unwrap();
        let o = hedge(&["check", "notes.md"], dir.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let out = text(&o);
        assert!(out.starts_with("hedge: "), "{out}");
        assert!(out.contains(field), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
    }
    assert_eq!(
        fx.count(),
        0,
        "no request may reach an endpoint a hedge.toml named"
    );
}

#[tokio::test]
async fn workspace_settings_cannot_change_the_users_endpoint_or_key() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("HEDGE_CACHE_DIR", dir.path().join("cache"));
    std::env::set_var("HEDGE_SECURITY_WORKSPACE_KEY", KEY);
    let path = dir.path().join("notes.md");
    std::fs::write(&path, DOC).unwrap();
    let uri = file_uri(&path);
    let users = fixture_for(ServerKind::Vllm);
    let workspaces = fixture_for(ServerKind::Vllm);

    let mut c = Client::start(None);
    c.configuration = json!({"scoring": {"server": "vllm", "endpoint": workspaces.base,
        "model": "m", "apiKeyEnv": "HEDGE_SECURITY_WORKSPACE_KEY"}});
    let user = json!({"scoring": {"server": "vllm", "endpoint": users.base, "model": "m"}});
    c.initialize(json!({"workspace": {"configuration": true}}), user)
        .await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(
        m,
        json!({"type": 2, "message": "hedge: `scoring` from workspace settings is ignored: a scoring endpoint is taken only from user settings or `hedge lsp --endpoint`"})
    );
    c.open(&uri, DOC).await;
    c.diagnostics_for_version(&uri, 1).await;
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["status"], "ready", "{s}");

    // A later change from the workspace is refused the same way.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"hedge": {"scoring": {"server": "tgi", "endpoint": workspaces.base,
            "apiKeyEnv": "HEDGE_SECURITY_WORKSPACE_KEY"}}}}),
    )
    .await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(m["type"], 2);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": format!("{DOC}Pierre Curie died in 1906.\n")}]}),
    )
    .await;
    c.diagnostics_for_version(&uri, 2).await;
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(
        (
            s["result"]["status"].as_str(),
            s["result"]["version"].as_i64()
        ),
        (Some("ready"), Some(2)),
        "{s}"
    );

    assert_eq!(
        workspaces.count(),
        0,
        "the workspace's endpoint got a request"
    );
    let reqs = users.take();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter().all(|r| r.header("authorization").is_none()),
        "a key variable named by the workspace was used"
    );
}

#[test]
fn sidecar_suffixes_cannot_hold_a_path() {
    use hedge::server::settings::Settings;
    for bad in ["/../../secret.json", "\\..\\x", ""] {
        assert_eq!(
            Settings::from_json(&json!({"sidecarSuffixes": [bad]})),
            Err(
                "sidecarSuffixes must be non-empty file-name suffixes like \".logprobs.json\""
                    .into()
            ),
            "{bad:?}"
        );
    }
}

/// A workspace with `notes.md` and `notes.md.logprobs.json` linking to `../outside/secret.json`
/// (a copy of the real sidecar, so reading it would work).
#[cfg(unix)]
fn linked_workspace() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::copy(fixtures.join("curie.md"), ws.join("curie.md")).unwrap();
    std::fs::copy(
        fixtures.join("curie.md.logprobs.json"),
        dir.path().join("outside/secret.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../outside/secret.json", ws.join("curie.md.logprobs.json"))
        .unwrap();
    (dir, ws)
}

#[cfg(unix)]
#[test]
fn sidecar_links_out_of_the_folder_are_refused_unless_allowed() {
    let (_dir, ws) = linked_workspace();
    let o = hedge(&["check", "curie.md"], &ws, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o),
        "hedge: curie.md.logprobs.json: cannot be read: it links to a file outside the document's folder (set HEDGE_ALLOW_SIDECAR_LINKS=1 to read such links)\n"
    );
    let o = hedge(
        &["check", "--fail-on", "never", "curie.md"],
        &ws,
        &[("HEDGE_ALLOW_SIDECAR_LINKS", "1")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 findings"), "{}", text(&o));
    // A link inside the folder is an ordinary sidecar.
    std::fs::remove_file(ws.join("curie.md.logprobs.json")).unwrap();
    std::fs::create_dir_all(ws.join("traces")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs/curie.md.logprobs.json"),
        ws.join("traces/curie.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink("traces/curie.json", ws.join("curie.md.logprobs.json")).unwrap();
    let o = hedge(&["check", "--fail-on", "never", "curie.md"], &ws, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[cfg(unix)]
#[tokio::test]
async fn the_server_refuses_sidecar_links_out_of_the_folder() {
    let (_dir, ws) = linked_workspace();
    let path = ws.join("curie.md");
    let uri = file_uri(&path);
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    c.open(&uri, &std::fs::read_to_string(&path).unwrap()).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    assert_eq!(
        d["diagnostics"],
        json!([{
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 16}},
            "severity": 2,
            "code": "trace-error",
            "source": "hedge",
            "message": "hedge: curie.md.logprobs.json: cannot be read: it links to a file outside the document's folder (set HEDGE_ALLOW_SIDECAR_LINKS=1 to read such links)"
        }])
    );
}

#[test]
fn draft_never_overwrites() {
    let fx =
        serve(|_, _| http_fixture::json_reply(200, &http_fixture::chat("A new answer.", true)));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let draft = |out: &str| {
        hedge(
            &["draft", "Say something.", "-o", out, "--endpoint", &fx.base],
            d,
            &[],
        )
    };
    let cases = [
        ("mine.md", "mine.md"),
        ("has-json.md.logprobs.json", "has-json.md"),
        ("has-jsonl.md.logprobs.jsonl", "has-jsonl.md"),
    ];
    for (existing, out) in cases {
        std::fs::write(d.join(existing), "my own words\n").unwrap();
        let o = draft(out);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            text(&o),
            format!(
                "hedge: {}: already exists; hedge does not overwrite files\n",
                d.join(existing).display()
            )
            .replace(&format!("{}/", d.display()), "")
        );
        assert_eq!(
            std::fs::read_to_string(d.join(existing)).unwrap(),
            "my own words\n"
        );
    }
    assert_eq!(
        fx.count(),
        0,
        "an existing file is refused before asking the server"
    );
    // There is no --force.
    std::fs::write(d.join("forced.md"), "my own words\n").unwrap();
    let o = hedge(
        &[
            "draft",
            "Hi",
            "-o",
            "forced.md",
            "--force",
            "--endpoint",
            &fx.base,
        ],
        d,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).starts_with("error: unexpected argument '--force' found"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("forced.md")).unwrap(),
        "my own words\n"
    );
    #[cfg(unix)]
    {
        // A link at the output path, dangling or not, is not written through.
        std::os::unix::fs::symlink("target.md", d.join("dangling.md")).unwrap();
        let o = draft("dangling.md");
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            text(&o),
            "hedge: dangling.md: already exists; hedge does not overwrite files\n"
        );
        assert!(!d.join("target.md").exists());
        assert!(!d.join("dangling.md.logprobs.json").exists());
        std::os::unix::fs::symlink("mine.md", d.join("link.md")).unwrap();
        let o = draft("link.md");
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            text(&o),
            "hedge: link.md: already exists; hedge does not overwrite files\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("mine.md")).unwrap(),
            "my own words\n"
        );
    }
    // A new file is written.
    let o = draft("fresh.md");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(d.join("fresh.md")).unwrap(),
        "A new answer."
    );
}

/// Frame one JSON-RPC message.
fn frame(v: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(v).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend(body);
    out
}

/// Run `hedge lsp` as a process with a scoring server that fails and echoes the key back; return
/// everything it wrote to stdout and stderr, and the scoring diagnostic.
fn lsp_process(args: &[&str], options: Value, doc: &Path) -> (String, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .arg("lsp")
        .args(args)
        .env("HEDGE_SECURITY_KEY", KEY)
        .env("HEDGE_CACHE_DIR", doc.parent().unwrap().join("cache"))
        .env("HEDGE_STATE_DIR", doc.parent().unwrap().join("state"))
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let out_thread = std::thread::spawn(move || {
        let mut raw = String::new();
        let mut r = BufReader::new(stdout);
        loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return raw;
                }
                raw.push_str(&line);
                if line.trim_end().is_empty() {
                    break;
                }
                if let Some(v) = line.trim_end().strip_prefix("Content-Length: ") {
                    len = v.parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                return raw;
            }
            raw.push_str(&String::from_utf8_lossy(&body));
            let _ = tx.send(serde_json::from_slice(&body).unwrap());
        }
    });
    let uri = file_uri(doc);
    let mut send = |v: Value| {
        stdin.write_all(&frame(&v)).unwrap();
        stdin.flush().unwrap();
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}, "initializationOptions": options}}));
    // A client waits for the answer to `initialize` before it sends anything else.
    let answer = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(answer["id"], 1, "{answer}");
    send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
        {"uri": uri, "languageId": "markdown", "version": 1, "text": DOC}}}),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut diagnostic = Value::Null;
    while Instant::now() < deadline {
        let Ok(m) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
            diagnostic = m["params"]["diagnostics"].clone();
            break;
        }
    }
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params":
        {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}}),
    );
    send(json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}));
    send(json!({"jsonrpc": "2.0", "method": "exit"}));
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let out = out_thread.join().unwrap();
    let err = err_thread.join().unwrap();
    (format!("{out}{err}"), diagnostic)
}

#[test]
fn the_key_never_reaches_the_editor_or_stderr() {
    let echo = format!("{{\"error\":{{\"message\":\"Incorrect API key provided: {KEY}\"}}}}");
    let fx = serve(move |_, _| {
        Reply::Full(
            401,
            vec![("WWW-Authenticate".into(), format!("Bearer realm=\"{KEY}\""))],
            echo.clone().into_bytes(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("notes.md");
    std::fs::write(&doc, DOC).unwrap();
    let expected = format!("hedge: scoring failed: the server at {}/v1/completions refused the request: 401 Unauthorized: Incorrect API key provided: *** (the key was read from the environment variable HEDGE_SECURITY_KEY)", fx.base);
    let by_flags = [
        "--server",
        "vllm",
        "--endpoint",
        &fx.base,
        "--api-key-env",
        "HEDGE_SECURITY_KEY",
    ];
    let by_options = json!({"scoring": {"server": "vllm", "endpoint": fx.base, "apiKeyEnv": "HEDGE_SECURITY_KEY"}});
    for (args, options) in [(&by_flags[..], Value::Null), (&[][..], by_options)] {
        let (all, diags) = lsp_process(args, options, &doc);
        assert_eq!(diags.as_array().map(Vec::len), Some(1), "{diags}: {all}");
        assert_eq!(diags[0]["code"], "scoring-error");
        assert_eq!(diags[0]["message"], expected);
        assert!(!all.contains(KEY), "the key leaked: {all}");
        assert!(all.contains("***"));
    }
    // Each run sent the key to the one server it was given, as a bearer token.
    let reqs = fx.take();
    assert!(reqs.len() >= 2);
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some(format!("Bearer {KEY}").as_str())));
}

#[test]
fn a_key_in_a_panic_message_or_debug_output_is_masked() {
    std::env::set_var("HEDGE_SECURITY_DEBUG_KEY", KEY);
    let key = hedge::source::transport::ApiKey::from_env("HEDGE_SECURITY_DEBUG_KEY").unwrap();
    assert_eq!(format!("{key:?}"), "ApiKey(HEDGE_SECURITY_DEBUG_KEY: ***)");
    // Whatever panics with the key in its state prints only its Debug form.
    let caught = std::panic::catch_unwind(|| panic!("scoring failed with {key:?}")).unwrap_err();
    let msg = caught.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "scoring failed with ApiKey(HEDGE_SECURITY_DEBUG_KEY: ***)"
    );
    // A key given where a variable's name belongs is not echoed back.
    let e = hedge::source::transport::ApiKey::from_env(KEY).unwrap_err();
    assert_eq!(e.message, "the API key option takes the name of an environment variable (letters, digits, _) that holds the key, not the key itself");
}
