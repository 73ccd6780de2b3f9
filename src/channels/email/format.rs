//! The pure part: the message a delivery becomes, and signed unsubscribe links.

use crate::channels::ProviderError;
use crate::domain::EmailContent;
use hmac::{Hmac, Mac};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use sha2::Sha256;

/// Signs one-click unsubscribe links, so only Herald's own links work.
#[derive(Clone)]
pub struct UnsubscribeSigner {
    key: Vec<u8>,
    base_url: String,
}

impl UnsubscribeSigner {
    /// `secret` is the JWT secret; a domain label keeps the two uses apart.
    pub fn new(secret: &[u8], base_url: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"x").expect("static key"));
        mac.update(b"herald-unsubscribe-v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    fn sign(&self, user: &str, category: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(user.as_bytes());
        mac.update(b"\n");
        mac.update(category.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn url(&self, user: &str, category: &str) -> String {
        format!(
            "{}/api/v1/unsubscribe?u={}&c={}&s={}",
            self.base_url,
            urlencoding::encode(user),
            urlencoding::encode(category),
            self.sign(user, category)
        )
    }

    pub fn verify(&self, user: &str, category: &str, sig: &str) -> bool {
        let expected = self.sign(user, category);
        expected.len() == sig.len()
            && expected
                .bytes()
                .zip(sig.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    }
}

/// Builds the message for a delivery: multipart/alternative (text and HTML),
/// a Message-ID derived from the delivery id (so a resend is recognisably the
/// same message), and RFC 8058 one-click List-Unsubscribe headers.
pub fn format(
    from: &Mailbox,
    delivery_id: uuid::Uuid,
    content: &EmailContent,
    unsubscribe: Option<&str>,
) -> Result<Message, ProviderError> {
    let to: Mailbox = content
        .to
        .as_str()
        .parse()
        .map_err(|e| ProviderError::Unsendable(format!("invalid recipient: {e}")))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(content.subject.clone())
        .message_id(Some(format!("<{delivery_id}@herald>")));
    if let Some(url) = unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let text = content.text.clone();
    let built = match content.html.clone().filter(|h| !h.is_empty()) {
        // `text/plain; charset=utf-8` with MIME-Version, like the multipart form.
        None => builder.singlepart(lettre::message::SinglePart::plain(text)),
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
    };
    built.map_err(|e| ProviderError::Unsendable(format!("cannot build the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;

    fn mail(to: &str, html: Option<&str>) -> EmailContent {
        EmailContent {
            to: Email::parse(to).unwrap(),
            subject: "Your tickets".into(),
            text: "Hi".into(),
            html: html.map(str::to_string),
        }
    }

    #[test]
    fn messages_carry_both_parts_a_message_id_and_one_click_unsubscribe() {
        let from: Mailbox = "Movie Tickets <notifications@example.com>".parse().unwrap();
        let id = uuid::Uuid::now_v7();
        let content = mail("customer@example.com", Some("<p>Hi</p>"));
        let raw = String::from_utf8(
            format(&from, id, &content, Some("https://h.example/u?x=1"))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains(&format!("Message-ID: <{id}@herald>")));
        assert!(raw.contains("List-Unsubscribe: <https://h.example/u?x=1>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(
            raw.contains("From: \"Movie Tickets\" <notifications@example.com>")
                || raw.contains("From: Movie Tickets <notifications@example.com>")
        );
    }

    #[test]
    fn a_message_without_html_is_plain_text_and_without_a_user_has_no_unsubscribe_link() {
        let from: Mailbox = "a@example.com".parse().unwrap();
        let raw = String::from_utf8(
            format(&from, uuid::Uuid::nil(), &mail("b@example.com", None), None)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(!raw.contains("multipart"));
        assert!(raw.contains("MIME-Version: 1.0"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(!raw.contains("List-Unsubscribe"));
    }

    #[test]
    fn unsubscribe_links_verify_only_for_their_user_and_category() {
        let s = UnsubscribeSigner::new(b"secret-secret-secret-secret-secret", "http://h");
        let url = s.url("user_123", "marketing");
        let sig = url.rsplit("s=").next().unwrap();
        assert!(s.verify("user_123", "marketing", sig));
        assert!(!s.verify("user_124", "marketing", sig));
        assert!(!s.verify("user_123", "booking", sig));
    }
}
