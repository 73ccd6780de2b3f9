//! Real protocol peers on loopback: a minimal SMTP server, and an HTTP server
//! that answers from a script and records what it was sent.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts mail over SMTP (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT) and keeps each message's raw text.
pub struct SmtpServer {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_slow(std::time::Duration::ZERO).await
    }

    /// Like `start`, but each message is accepted only after `delay` (a slow relay).
    pub async fn start_slow(delay: std::time::Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(vec![]));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 test-smtp ready\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") {
                            b"250-test-smtp\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut msg = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                msg.push_str(l.strip_prefix('.').unwrap_or(&l));
                                msg.push_str("\r\n");
                            }
                            tokio::time::sleep(delay).await;
                            store.lock().unwrap().push(msg);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        Self { port, messages }
    }
}

/// One recorded HTTP request.
#[derive(Clone, Debug)]
pub struct Recorded {
    #[allow(dead_code)]
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers each request with the next scripted (status, body); the last one repeats.
pub struct HttpStub {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl HttpStub {
    pub async fn start(script: Vec<(u16, String)>) -> Self {
        Self::start_slow(script, std::time::Duration::ZERO).await
    }

    /// Like `start`, but every answer comes after `delay`. The request is
    /// recorded when it arrives, so a count includes sends still waiting.
    pub async fn start_slow(script: Vec<(u16, String)>, delay: std::time::Duration) -> Self {
        Self::serve(script, delay, vec![]).await
    }

    /// Like `start`, adding `(status, header, value)` to every answer with that status
    /// (a `Retry-After` on 429s, say).
    pub async fn start_with_headers(
        script: Vec<(u16, String)>,
        headers: Vec<(u16, &'static str, String)>,
    ) -> Self {
        Self::serve(script, std::time::Duration::ZERO, headers).await
    }

    async fn serve(
        script: Vec<(u16, String)>,
        delay: std::time::Duration,
        headers: Vec<(u16, &'static str, String)>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(vec![]));
        let (rec, script) = (requests.clone(), Arc::new(script));
        let extra = Arc::new(headers);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (rec, script, extra) = (rec.clone(), script.clone(), extra.clone());
                tokio::spawn(async move {
                    loop {
                        let mut buf = Vec::new();
                        let mut byte = [0u8; 1];
                        while !buf.ends_with(b"\r\n\r\n") {
                            match sock.read(&mut byte).await {
                                Ok(1) => buf.push(byte[0]),
                                _ => return,
                            }
                        }
                        let head = String::from_utf8_lossy(&buf).to_string();
                        let mut lines = head.split("\r\n");
                        let mut first = lines.next().unwrap_or_default().split(' ');
                        let (method, path) = (
                            first.next().unwrap_or_default().to_string(),
                            first.next().unwrap_or_default().to_string(),
                        );
                        let headers: Vec<(String, String)> = lines
                            .filter_map(|l| {
                                l.split_once(':')
                                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                            })
                            .collect();
                        let len = headers
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0u8; len];
                        if sock.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let n = {
                            let mut r = rec.lock().unwrap();
                            r.push(Recorded {
                                method,
                                path,
                                headers,
                                body: String::from_utf8_lossy(&body).to_string(),
                            });
                            r.len()
                        };
                        let (status, reply) = script
                            .get(n - 1)
                            .or(script.last())
                            .cloned()
                            .unwrap_or((200, "{}".into()));
                        let reply = reply.replace("{n}", &n.to_string());
                        tokio::time::sleep(delay).await;
                        let added: String = extra
                            .iter()
                            .filter(|(s, _, _)| *s == status)
                            .map(|(_, k, v)| format!("{k}: {v}\r\n"))
                            .collect();
                        let resp = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{added}content-length: {}\r\n\r\n{reply}", reply.len());
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { port, requests }
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A Google service account whose token endpoint is the OAuth stand-in on
/// `oauth_port`, for an app whose FCM base URL is a local stand-in.
pub fn fcm_service_account(oauth_port: u16) -> String {
    serde_json::json!({
        "type": "service_account", "project_id": "herald-test", "private_key_id": "k1",
        "private_key": include_str!("../fixtures/rs256_private.pem"),
        "client_email": "herald@herald-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": format!("http://127.0.0.1:{oauth_port}/token"),
    })
    .to_string()
}
