//! Hostile webhook endpoints on loopback, for what `HttpStub` cannot script:
//! a redirect with a `Location`, and a body that is huge and never ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads one request head and whatever `content-length` body follows.
async fn read_request(sock: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match sock.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).await.is_ok()
}

/// Answers every request with `answer`, a raw response; counts requests.
async fn answering(answer: String) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (seen, answer) = (seen.clone(), answer.clone());
            tokio::spawn(async move {
                while read_request(&mut sock).await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    if sock.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

/// An endpoint that answers `307 Temporary Redirect` to `location`.
pub async fn redirecting_to(location: &str) -> (u16, Arc<AtomicUsize>) {
    let answer = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
    );
    answering(answer).await
}

/// An endpoint that answers `status` announcing `announced` bytes of body,
/// sends `sent` of them, then holds the connection open without sending more:
/// a client that reads the body whole never gets past it.
pub async fn endless_body(status: u16, announced: usize, sent: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                if !read_request(&mut sock).await {
                    return;
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let head = format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {announced}\r\n\r\n");
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = sent;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if sock.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                tokio::time::sleep(std::time::Duration::from_secs(120)).await;
            });
        }
    });
    (port, count)
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
