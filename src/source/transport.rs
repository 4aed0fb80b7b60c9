//! HTTP transport shared by scoring ([`super::http`]) and drafting ([`super::draft`]): one JSON
//! POST with a timeout, bounded retries with backoff, a response-size limit, and one-line errors.
//!
//! Safety rules kept here:
//! * hedge connects only to the address it was given: no redirects are followed and no proxy
//!   is taken from the environment;
//! * an API key is only ever read from an environment variable whose *name* the user gave
//!   ([`ApiKey::from_env`]); it is sent as `Authorization: Bearer …` (marked sensitive), never
//!   printed, logged or put into an error message: every message is scrubbed of it, including
//!   text a server echoes back.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};

pub use super::api_key::ApiKey;

/// Timeouts, retries and limits for requests to a model server.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOptions {
    /// The whole request, from connecting to the last byte of the body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How many times a request is repeated after a 429, a 500/502/503/504 or a connection
    /// that closed mid-response. Refused connections and timeouts are not repeated.
    pub retries: u32,
    /// The first wait before a retry; it doubles with each retry. A `Retry-After` header (in
    /// seconds, at most 30) wins.
    pub backoff: Duration,
    /// Responses larger than this are refused.
    pub max_response_bytes: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What went wrong, for callers that react differently (a status bar, a retry later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// A bad endpoint URL or option.
    Usage,
    /// The API key's environment variable is missing or unusable.
    Key,
    /// Nothing answered at the address.
    Connect,
    Timeout,
    /// The server answered with this non-success status.
    Status(u16),
    /// The body was cut off, too large, or not JSON.
    Body,
    /// The JSON has no (prompt) logprobs in a shape hedge reads.
    Shape,
}

/// One failure, as one line for the user (`message`, already free of any API key).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct HttpError {
    pub kind: HttpErrorKind,
    pub message: String,
}

impl HttpError {
    pub fn new(kind: HttpErrorKind, message: impl Into<String>) -> HttpError {
        HttpError {
            kind,
            message: message.into(),
        }
    }
}

/// Parse and check an endpoint URL: http or https with a host.
pub fn parse_url(raw: &str) -> Result<Url, HttpError> {
    let usage = |why: &str| HttpError::new(HttpErrorKind::Usage, format!("endpoint {why}"));
    let url = Url::parse(raw.trim()).map_err(|e| usage(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage(&format!(
            "must start with http:// or https://, not {}:",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(usage("has no host"));
    }
    Ok(url)
}

/// A URL as shown in messages: without user name, password, query or fragment.
pub fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A client for one endpoint and key.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    options: HttpOptions,
    key: Option<ApiKey>,
}

/// One failed try, and whether trying again may help.
struct Failure {
    error: HttpError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn last(error: HttpError) -> Failure {
        Failure {
            error,
            retry: false,
            retry_after: None,
        }
    }
}

impl Transport {
    pub fn new(options: &HttpOptions, key: Option<ApiKey>) -> Result<Transport, HttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("hedge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                HttpError::new(HttpErrorKind::Usage, format!("cannot set up HTTP: {e}"))
            })?;
        Ok(Transport {
            client,
            options: options.clone(),
            key,
        })
    }

    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Remove the key from a message (a server may echo it back).
    fn scrub(&self, msg: String) -> String {
        match &self.key {
            Some(k) if !k.secret().is_empty() => msg.replace(k.secret(), "***"),
            _ => msg,
        }
    }

    /// POST a JSON body and return the success response's body, retrying as
    /// [`HttpOptions::retries`] allows.
    pub async fn post_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
    ) -> Result<Vec<u8>, HttpError> {
        let payload = serde_json::to_vec(body).map_err(|e| {
            HttpError::new(
                HttpErrorKind::Usage,
                format!("cannot encode the request: {e}"),
            )
        })?;
        let mut attempt = 0u32;
        loop {
            match self.once(url, &payload).await {
                Ok(b) => return Ok(b),
                Err(f) if f.retry && attempt < self.options.retries => {
                    let wait = f.retry_after.unwrap_or_else(|| {
                        self.options.backoff.saturating_mul(1 << attempt.min(16))
                    });
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(mut f) => {
                    if attempt > 0 {
                        f.error.message =
                            format!("{}; gave up after {} tries", f.error.message, attempt + 1);
                    }
                    f.error.message = self.scrub(f.error.message);
                    return Err(f.error);
                }
            }
        }
    }

    async fn once(&self, url: &Url, payload: &[u8]) -> Result<Vec<u8>, Failure> {
        let shown = shown_url(url);
        let mut req = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(payload.to_vec());
        if let Some(k) = &self.key {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", k.secret())).map_err(|_| {
                Failure::last(HttpError::new(
                    HttpErrorKind::Key,
                    format!("the API key in the environment variable {} has characters an HTTP header cannot hold", k.shown_var()),
                ))
            })?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let mut resp = req.send().await.map_err(|e| self.send_failure(&shown, e))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map(|u| format!(" to {}", shown_url(&u)))
                .unwrap_or_default();
            return Err(Failure::last(HttpError::new(
                HttpErrorKind::Status(status.as_u16()),
                format!(
                    "the server at {shown} redirected ({}){to}; hedge does not follow redirects: give the final address as the endpoint",
                    status.as_u16()
                ),
            )));
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(30)));
        let limit = self.options.max_response_bytes;
        let too_large = || {
            Failure::last(HttpError::new(
                HttpErrorKind::Body,
                format!("the server at {shown} sent a response larger than the {limit}-byte limit"),
            ))
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() as u64 + c.len() as u64 > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(Failure::last(self.timeout(&shown))),
                Err(_) => {
                    return Err(Failure {
                        error: HttpError::new(
                            HttpErrorKind::Body,
                            format!("the server at {shown} closed the connection before the response was complete"),
                        ),
                        retry: true,
                        retry_after: None,
                    })
                }
            }
        }
        if status.is_success() {
            return Ok(body);
        }
        Err(self.status_failure(&shown, status, &body, retry_after))
    }

    fn timeout(&self, shown: &str) -> HttpError {
        HttpError::new(
            HttpErrorKind::Timeout,
            format!(
                "the server at {shown} did not answer within {} s",
                fmt_secs(self.options.timeout)
            ),
        )
    }

    fn send_failure(&self, shown: &str, e: reqwest::Error) -> Failure {
        if e.is_timeout() {
            return Failure::last(self.timeout(shown));
        }
        let io = io_kind(&e);
        if e.is_connect() {
            let reason = match io {
                Some(std::io::ErrorKind::ConnectionRefused) => {
                    "connection refused (is the server running?)".to_string()
                }
                _ => innermost(&e),
            };
            return Failure::last(HttpError::new(
                HttpErrorKind::Connect,
                format!("cannot connect to {shown}: {reason}"),
            ));
        }
        Failure {
            error: HttpError::new(
                HttpErrorKind::Connect,
                format!(
                    "the server at {shown} closed the connection without answering ({})",
                    innermost(&e)
                ),
            ),
            retry: true,
            retry_after: None,
        }
    }

    fn status_failure(
        &self,
        shown: &str,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Failure {
        let code = status.as_u16();
        let line = match status.canonical_reason() {
            Some(r) => format!("{code} {r}"),
            None => code.to_string(),
        };
        let detail = match server_message(body) {
            Some(m) => format!("{line}: {m}"),
            None => line,
        };
        let (message, retry) = match code {
            401 | 403 => {
                let hint = match &self.key {
                    Some(k) => format!("the key was read from the environment variable {}", k.shown_var()),
                    None => "no API key was sent; name the environment variable that holds one with --api-key-env".into(),
                };
                (format!("the server at {shown} refused the request: {detail} ({hint})"), false)
            }
            404 => (
                format!("the server at {shown} has no such endpoint: {detail} (is the endpoint URL right?)"),
                false,
            ),
            429 => (format!("the server at {shown} is rate-limiting requests: {detail}"), true),
            500 | 502 | 503 | 504 => (format!("the server at {shown} failed: {detail}"), true),
            c if c >= 500 => (format!("the server at {shown} failed: {detail}"), false),
            _ => (format!("the server at {shown} rejected the request: {detail}"), false),
        };
        Failure {
            error: HttpError::new(HttpErrorKind::Status(code), message),
            retry,
            retry_after,
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// The kind of the I/O error under a reqwest error, if any.
fn io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        src = s.source();
    }
    None
}

/// The most specific message in an error's chain.
fn innermost(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        last = s.to_string();
        src = s.source();
    }
    last
}

/// The message in an error body: `error.message`, `error`, `message`, `detail` (FastAPI's
/// string or list), else the first line of a plain-text body. One line, at most 300 characters.
pub fn server_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let found = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => json_message(&v),
        Err(_) if text.starts_with('<') => None,
        Err(_) => text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(String::from),
    }?;
    let one: String = found.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        return None;
    }
    Some(match one.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    })
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    let s = |v: &serde_json::Value| v.as_str().map(String::from);
    let err = v.get("error");
    err.and_then(|e| e.get("message"))
        .and_then(s)
        .or_else(|| err.and_then(s))
        .or_else(|| v.get("message").and_then(s))
        .or_else(|| v.get("detail").and_then(s))
        .or_else(|| {
            v.get("detail")?
                .as_array()?
                .iter()
                .find_map(|d| d.get("msg").and_then(s))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_bodies() {
        let m = |b: &str| server_message(b.as_bytes());
        assert_eq!(
            m(r#"{"error":{"message":"Invalid key","type":"auth"}}"#).as_deref(),
            Some("Invalid key")
        );
        assert_eq!(
            m(r#"{"error":"Input validation error"}"#).as_deref(),
            Some("Input validation error")
        );
        assert_eq!(
            m(r#"{"object":"error","message":"bad\nthing"}"#).as_deref(),
            Some("bad thing")
        );
        assert_eq!(
            m(r#"{"detail":[{"loc":["body"],"msg":"field required"}]}"#).as_deref(),
            Some("field required")
        );
        assert_eq!(
            m("upstream connect error\nmore").as_deref(),
            Some("upstream connect error")
        );
        assert_eq!(m("<html><body>502</body></html>"), None);
        assert_eq!(m("  "), None);
        assert_eq!(m(r#"{"ok":true}"#), None);
    }

    #[test]
    fn urls_are_checked_and_shown_without_secrets() {
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("localhost:8000").is_err());
        let u = parse_url("http://user:pw@127.0.0.1:8000/v1?key=abc#x").unwrap();
        assert_eq!(shown_url(&u), "http://127.0.0.1:8000/v1");
    }
}
