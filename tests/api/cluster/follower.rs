//! A WebSocket client that behaves like the browser SDK: when its socket ends it
//! reconnects to the next node with `since=<last seq seen>`, and it records
//! every notification seq, close code and hello it got, so a test can check
//! that nothing was missed or repeated.

use futures_util::StreamExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Pause between reconnect attempts, as a client's backoff would.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

#[derive(Default, Debug, Clone)]
pub struct Seen {
    /// Every notification frame's seq, in arrival order, across all sockets.
    pub seqs: Vec<i64>,
    /// How each socket ended: the close code, or None when it was cut without one.
    pub closes: Vec<Option<u16>>,
    /// `(port, hello.recovered)` for each socket opened.
    pub hellos: Vec<(u16, bool)>,
}

impl Seen {
    pub fn last(&self) -> i64 {
        self.seqs.iter().copied().max().unwrap_or(0)
    }

    /// Seqs missing from 1..=expected, and seqs shown more than once.
    pub fn gaps_and_repeats(&self, expected: i64) -> (Vec<i64>, Vec<i64>) {
        let mut sorted = self.seqs.clone();
        sorted.sort_unstable();
        let repeats: Vec<i64> = sorted
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        sorted.dedup();
        let missing = (1..=expected)
            .filter(|s| sorted.binary_search(s).is_err())
            .collect();
        (missing, repeats)
    }
}

pub struct Follower {
    pub user: String,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// Follows `user` on `ports[0]`; when a socket ends, moves on to the next port.
    pub fn start(user: &str, token: &str, ports: Vec<u16>) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn(follow(token.to_string(), ports, seen.clone()));
        Self {
            user: user.to_string(),
            seen,
            task,
        }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until this client has seen seq `n`; false after `secs`.
    pub async fn reached(&self, n: i64, secs: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < deadline {
            if self.seen().last() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.seen().last() >= n
    }

    /// Waits until `sockets` sockets have said hello; false after `secs`.
    pub async fn connected(&self, sockets: usize, secs: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < deadline {
            if self.seen().hellos.len() >= sockets {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Asserts this client saw exactly the seqs 1..=expected, none twice.
    pub fn assert_gap_free(&self, expected: i64) {
        let seen = self.seen();
        let (missing, repeats) = seen.gaps_and_repeats(expected);
        assert!(
            missing.is_empty() && repeats.is_empty(),
            "{}: of 1..={expected}, missing {missing:?}, shown twice {repeats:?}; sockets {:?}, closes {:?}",
            self.user,
            seen.hellos,
            seen.closes
        );
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn follow(token: String, ports: Vec<u16>, seen: Arc<Mutex<Seen>>) {
    let record = |f: &mut dyn FnMut(&mut Seen)| {
        if let Ok(mut s) = seen.lock() {
            f(&mut s);
        }
    };
    let mut at = 0;
    loop {
        let port = ports[at % ports.len()];
        let (opened, since) = seen
            .lock()
            .map(|s| (!s.hellos.is_empty(), s.last()))
            .unwrap_or((true, 0));
        let mut url = format!("ws://127.0.0.1:{port}/api/v1/ws?token={token}");
        // After the first socket, always resume, even from 0: what committed
        // while no socket was open must be replayed.
        if opened {
            url.push_str(&format!("&since={since}"));
        }
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
            at += 1;
            tokio::time::sleep(RECONNECT_PAUSE).await;
            continue;
        };
        let mut close = None;
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "hello" {
                        let recovered = v["recovered"].as_bool().unwrap_or(false);
                        record(&mut |s| s.hellos.push((port, recovered)));
                    } else if v["type"] == "notification" {
                        if let Some(seq) = v["notification"]["seq"].as_i64() {
                            record(&mut |s| s.seqs.push(seq));
                        }
                    }
                }
                Ok(Message::Close(frame)) => {
                    close = frame.map(|f| u16::from(f.code));
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        record(&mut |s| s.closes.push(close));
        at += 1;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}
