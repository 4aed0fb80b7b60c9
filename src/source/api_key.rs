//! API keys: read only from an environment variable whose *name* the user gave on the command
//! line or in user-level settings (never from a workspace), and never shown: `Debug` prints
//! `***`, there is no `Display`, and messages name the variable, not the value.

use std::fmt;

use super::transport::{HttpError, HttpErrorKind};

/// An API key read from the environment. Its `Debug` shows `ApiKey(***)`; it has no `Display`.
#[derive(Clone)]
pub struct ApiKey {
    key: String,
    var: String,
}

impl ApiKey {
    /// Read the key from the environment variable `var` (its name comes from the command line
    /// or user-level settings, never from a workspace). Errors show the name only when it looks
    /// like one (upper-case letters, digits, `_`), in case a key was passed by mistake.
    pub fn from_env(var: &str) -> Result<ApiKey, HttpError> {
        let valid = !var.is_empty()
            && var.len() <= 128
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(HttpError::new(
                HttpErrorKind::Key,
                "the API key option takes the name of an environment variable (letters, digits, _) that holds the key, not the key itself",
            ));
        }
        let named = shown_var(var);
        let err = |what: &str| {
            HttpError::new(
                HttpErrorKind::Key,
                format!("the environment variable {named} that should hold the API key {what}"),
            )
        };
        match std::env::var(var) {
            Ok(key) if key.trim().is_empty() => Err(err("is empty")),
            Ok(key) => Ok(ApiKey {
                key: key.trim().to_string(),
                var: var.to_string(),
            }),
            Err(std::env::VarError::NotPresent) => Err(err("is not set")),
            Err(std::env::VarError::NotUnicode(_)) => Err(err("is not valid text")),
        }
    }

    /// The key itself, for the `Authorization` header only.
    pub(crate) fn secret(&self) -> &str {
        &self.key
    }

    /// The variable's name as shown in messages.
    pub fn shown_var(&self) -> String {
        shown_var(&self.var)
    }
}

/// An environment variable's name for messages: as is when it looks like a conventional name
/// (`OPENAI_API_KEY`), otherwise described, since it might be a key typed in by mistake.
fn shown_var(var: &str) -> String {
    let conventional = var.len() <= 64
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if conventional {
        var.to_string()
    } else {
        "named by the API key option".to_string()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}: ***)", self.shown_var())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_debug_hides_the_value() {
        std::env::set_var("HEDGE_TRANSPORT_TEST_KEY", "sk-secret-123");
        let k = ApiKey::from_env("HEDGE_TRANSPORT_TEST_KEY").unwrap();
        let d = format!("{k:?}");
        assert!(!d.contains("sk-secret"), "{d}");
        let e = ApiKey::from_env("HEDGE_TRANSPORT_TEST_UNSET").unwrap_err();
        assert_eq!(e.kind, HttpErrorKind::Key);
        assert!(e.message.contains("HEDGE_TRANSPORT_TEST_UNSET"));
        // A key passed where a variable's name belongs is never echoed.
        for mistake in ["sk-proj-AbC123", "hf_AbCdEfGh123"] {
            let e = ApiKey::from_env(mistake).unwrap_err();
            assert!(!e.message.contains(mistake), "{}", e.message);
        }
    }
}
