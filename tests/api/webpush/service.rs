//! A push service stand-in (RFC 8030): records each message with its raw
//! body and answers from a script. The checks a real push service and the
//! browser make (VAPID, decryption) are helpers the tests call on what it got.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use herald::channels::web_push::crypto;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One message as the push service received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status and extra headers. The last one repeats.
pub type Answer = (u16, Vec<(&'static str, String)>);

pub struct PushService {
    pub origin: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl PushService {
    pub async fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(vec![]));
        let (rec, script) = (received.clone(), Arc::new(script));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (rec, script) = (rec.clone(), script.clone());
                tokio::spawn(async move {
                    while let Some(got) = read_request(&mut sock).await {
                        let n = {
                            let mut r = rec.lock().expect("lock");
                            r.push(got);
                            r.len()
                        };
                        let (status, headers) = script
                            .get(n - 1)
                            .or(script.last())
                            .cloned()
                            .unwrap_or((201, vec![]));
                        let mut resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n");
                        for (k, v) in headers {
                            resp.push_str(&format!(
                                "{k}: {}\r\n",
                                v.replace("{n}", &n.to_string())
                            ));
                        }
                        resp.push_str("\r\n");
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            origin: format!("http://127.0.0.1:{port}"),
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match sock.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
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
    sock.read_exact(&mut body).await.ok()?;
    Some(Received {
        path,
        headers,
        body,
        at: Instant::now(),
    })
}

/// A browser's side of a subscription: its key pair and auth secret.
pub struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Subscriber {
    pub fn generate() -> Self {
        let mut auth = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut auth);
        Self {
            secret: crypto::random_secret(),
            auth,
        }
    }

    /// `PushSubscription.toJSON()` for an endpoint on `service`.
    pub fn subscription(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(crypto::public_bytes(&self.secret)),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// Decrypts a received message as the browser would, into its JSON.
    pub fn open(&self, got: &Received) -> Value {
        assert_eq!(got.header("content-encoding"), Some("aes128gcm"));
        let plain = crypto::decrypt(&got.body, &self.secret, &self.auth)
            .unwrap_or_else(|e| panic!("the payload does not decrypt: {e}"));
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }
}

/// What a push service checks of `Authorization: vapid t=<JWT>, k=<key>`
/// (RFC 8292): the key is the one served, the ES256 signature verifies with
/// it, `aud` is this service's origin and `exp` is in the next 24 hours.
pub fn check_vapid(got: &Received, public_key: &str, origin: &str) -> Value {
    let auth = got
        .header("authorization")
        .expect("an Authorization header");
    let (jwt, k) = auth
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap_or_else(|| panic!("not a vapid header: {auth}"));
    assert_eq!(k, public_key, "k is the key browsers subscribed with");
    let (signed, sig) = jwt.rsplit_once('.').expect("a signed JWT");
    let (header, claims) = signed.split_once('.').expect("header.claims");
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    let header: Value = serde_json::from_slice(&decode(header)).expect("header JSON");
    assert_eq!(header["alg"], "ES256");
    let key = VerifyingKey::from_sec1_bytes(&decode(k)).expect("a P-256 key");
    let sig = Signature::from_slice(&decode(sig)).expect("a 64-byte signature");
    key.verify(signed.as_bytes(), &sig)
        .expect("the signature verifies with the served public key");
    let claims: Value = serde_json::from_slice(&decode(claims)).expect("claims JSON");
    assert_eq!(claims["aud"], origin);
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp {exp} within 24 h of {now}"
    );
    claims
}
