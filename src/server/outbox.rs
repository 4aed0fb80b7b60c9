//! The one writer to the client.
//!
//! tower-lsp-server turns every outgoing message into a `serde_json::Value` tree before it
//! writes it. For a publication of a thousand diagnostics that tree, built and freed on every
//! keystroke, cost more than everything else an edit does. So diagnostics are published as
//! JSON text assembled from pieces serialized once per analysis (see `diagnostics`), and sent
//! here beside tower-lsp-server's own messages. Each message is written whole, in the order
//! it was finished.

use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::mpsc;

/// Sends finished message bodies (JSON text) to the client.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

impl Outbox {
    /// Queue one message body; `false` once the connection is gone.
    pub fn send(&self, body: String) -> bool {
        self.tx.send(body.into_bytes()).is_ok()
    }
}

/// A stream for tower-lsp-server to write its messages to, and an [`Outbox`] for hedge's own;
/// both reach `output` as whole frames, in the order they were finished.
pub fn outbox<W: AsyncWrite + Unpin + Send + 'static>(output: W) -> (DuplexStream, Outbox) {
    let (server_side, ours) = tokio::io::duplex(1 << 20);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let from_server = tx.clone();
    tokio::spawn(async move {
        let mut framed = BufReader::new(ours);
        while let Some(body) = read_frame(&mut framed).await {
            if from_server.send(body).is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut out = output;
        while let Some(body) = rx.recv().await {
            let head = format!("Content-Length: {}\r\n\r\n", body.len());
            if out.write_all(head.as_bytes()).await.is_err()
                || out.write_all(&body).await.is_err()
                || out.flush().await.is_err()
            {
                break;
            }
        }
    });
    (server_side, Outbox { tx })
}

/// One framed message body written by tower-lsp-server; `None` at the end of its stream.
async fn read_frame(r: &mut BufReader<DuplexStream>) -> Option<Vec<u8>> {
    let mut len = None;
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            if len.is_some() {
                break;
            }
            continue;
        }
        if let Some(v) = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.strip_prefix("Content-Length:"))
        {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).await.ok()?;
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn both_sources_arrive_as_whole_frames() {
        let (client, server_out) = tokio::io::duplex(1 << 16);
        let (mut tower_side, outbox) = outbox(server_out);
        tower_side
            .write_all(b"Content-Length: 7\r\n\r\n{\"a\":1}")
            .await
            .unwrap();
        tower_side.flush().await.unwrap();
        // Let the first frame through before queuing ours, so the order is known.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(outbox.send("{\"b\":22}".into()));
        drop(tower_side);
        drop(outbox);
        let mut got = String::new();
        let mut client = client;
        client.read_to_string(&mut got).await.unwrap();
        assert_eq!(
            got,
            "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 8\r\n\r\n{\"b\":22}"
        );
    }
}
