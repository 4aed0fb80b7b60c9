//! A guard in front of the protocol layer: only well-formed JSON-RPC messages reach it.
//!
//! tower-lsp-server's reader stops for good at the first body that is not JSON or not a
//! JSON-RPC message, which would end the session over one bad frame. This reads the frames
//! itself, passes on the good ones byte for byte, and drops the rest with a line on stderr.

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Larger bodies are skipped unread (a 1 MB document is a few MB of JSON).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Only the fields that tell a message from garbage.
#[derive(Deserialize)]
struct Envelope {
    jsonrpc: String,
    method: Option<serde::de::IgnoredAny>,
    id: Option<serde::de::IgnoredAny>,
}

fn is_message(body: &[u8]) -> bool {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => e.jsonrpc == "2.0" && (e.method.is_some() || e.id.is_some()),
        Err(_) => false,
    }
}

fn content_length(line: &[u8]) -> Option<usize> {
    let line = std::str::from_utf8(line).ok()?;
    let (name, value) = line.split_once(':')?;
    name.trim()
        .eq_ignore_ascii_case("content-length")
        .then(|| value.trim().parse().ok())?
}

/// A stream carrying only the well-formed messages of `input`.
pub fn sanitized<R: AsyncRead + Unpin + Send + 'static>(input: R) -> DuplexStream {
    let (mut tx, rx) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut r = BufReader::new(input);
        loop {
            let mut len = None;
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    if len.is_some() {
                        break;
                    }
                    continue;
                }
                if let Some(n) = content_length(trimmed) {
                    len = Some(n);
                }
            }
            let len = len.unwrap_or(0);
            if len > MAX_BODY {
                eprintln!("hedge: skipped a {len}-byte message (over {MAX_BODY} bytes)");
                let skipped =
                    tokio::io::copy(&mut (&mut r).take(len as u64), &mut tokio::io::sink()).await;
                if skipped.is_err() {
                    return;
                }
                continue;
            }
            // Grown as the bytes arrive: a declared length alone allocates nothing.
            let mut body = Vec::new();
            match (&mut r).take(len as u64).read_to_end(&mut body).await {
                Ok(n) if n == len => {}
                _ => return,
            }
            if !is_message(&body) {
                eprintln!("hedge: dropped a message that is not JSON-RPC ({len} bytes)");
                continue;
            }
            let head = format!("Content-Length: {len}\r\n\r\n");
            if tx.write_all(head.as_bytes()).await.is_err() || tx.write_all(&body).await.is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_messages_from_garbage() {
        assert!(is_message(
            br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#
        ));
        assert!(is_message(br#"{"jsonrpc":"2.0","id":3,"result":null}"#));
        assert!(!is_message(b"{not json"));
        assert!(!is_message(br#"{"oops":true}"#));
        assert!(!is_message(br#"{"jsonrpc":"1.0","method":"x"}"#));
        assert_eq!(content_length(b"Content-Length: 42"), Some(42));
        assert_eq!(content_length(b"content-length:7"), Some(7));
        assert_eq!(content_length(b"Content-Type: x"), None);
    }
}
