//! The wire form of a [`BusMessage`] between nodes: a compact binary header
//! (so a node can skip its own echoes and unknown users without parsing
//! JSON) followed by the frame, which is sent on unchanged.
//!
//! `version(1) | node_len(1) node | user_len(1) user | seq_flag(1) [seq i64 BE] | frame`

use super::{BusMessage, NodeId};
use crate::domain::UserId;
use bytestring::ByteString;

const VERSION: u8 = 1;

/// A decoded envelope; `frame` is still the serialised JSON.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub node: &'a str,
    pub user_id: &'a str,
    pub seq: Option<i64>,
    pub frame: &'a str,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the envelope is truncated")]
    Truncated,
    #[error("unknown envelope version {0}")]
    Version(u8),
    #[error("a field is not UTF-8")]
    Utf8,
    #[error("the user id is invalid")]
    User,
}

impl<'a> Envelope<'a> {
    pub fn encode(node: &NodeId, msg: &BusMessage) -> Vec<u8> {
        let (node, user, frame) = (
            node.as_str().as_bytes(),
            msg.user_id.as_str().as_bytes(),
            msg.frame.as_bytes(),
        );
        let mut out = Vec::with_capacity(4 + node.len() + user.len() + 8 + frame.len());
        out.push(VERSION);
        // Both ids are at most 128 bytes by construction (NodeId, UserId).
        out.push(node.len() as u8);
        out.extend_from_slice(node);
        out.push(user.len() as u8);
        out.extend_from_slice(user);
        match msg.seq {
            Some(seq) => {
                out.push(1);
                out.extend_from_slice(&seq.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(frame);
        out
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let mut rest = bytes;
        let mut take = |n: usize| -> Result<&'a [u8], EnvelopeError> {
            if rest.len() < n {
                return Err(EnvelopeError::Truncated);
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let version = take(1)?[0];
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let node_len = take(1)?[0] as usize;
        let node = utf8(take(node_len)?)?;
        let user_len = take(1)?[0] as usize;
        let user_id = utf8(take(user_len)?)?;
        let seq = match take(1)?[0] {
            0 => None,
            _ => {
                let raw: [u8; 8] = take(8)?.try_into().map_err(|_| EnvelopeError::Truncated)?;
                Some(i64::from_be_bytes(raw))
            }
        };
        let frame = utf8(rest)?;
        Ok(Self {
            node,
            user_id,
            seq,
            frame,
        })
    }

    /// Back to a message for the local hub (the user id is parsed again: a
    /// foreign publisher is outside data).
    pub fn into_message(self) -> Result<BusMessage, EnvelopeError> {
        Ok(BusMessage {
            user_id: UserId::parse(self.user_id).map_err(|_| EnvelopeError::User)?,
            seq: self.seq,
            frame: ByteString::from(self.frame),
        })
    }
}

fn utf8(b: &[u8]) -> Result<&str, EnvelopeError> {
    std::str::from_utf8(b).map_err(|_| EnvelopeError::Utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: Option<i64>) -> BusMessage {
        BusMessage {
            user_id: UserId::parse("alice@example.com").unwrap(),
            seq,
            frame: ByteString::from(r#"{"type":"read_all","unread_count":0}"#),
        }
    }

    #[test]
    fn a_notification_envelope_round_trips() {
        let node = NodeId::parse("node-a").unwrap();
        let bytes = Envelope::encode(&node, &msg(Some(42)));
        let env = Envelope::decode(&bytes).unwrap();
        assert_eq!(env.node, "node-a");
        assert_eq!(env.user_id, "alice@example.com");
        assert_eq!(env.seq, Some(42));
        assert_eq!(env.frame, r#"{"type":"read_all","unread_count":0}"#);
        let back = env.into_message().unwrap();
        assert_eq!(back.user_id.as_str(), "alice@example.com");
    }

    #[test]
    fn a_state_frame_has_no_seq_and_costs_only_the_flag() {
        let node = NodeId::parse("n").unwrap();
        let with = Envelope::encode(&node, &msg(Some(1)));
        let without = Envelope::encode(&node, &msg(None));
        assert_eq!(with.len() - without.len(), 8);
        assert_eq!(Envelope::decode(&without).unwrap().seq, None);
        // version, two lengths, flag: the header is 4 bytes plus the ids.
        assert_eq!(
            without.len(),
            4 + 1 + "alice@example.com".len() + msg(None).frame.len()
        );
    }

    #[test]
    fn truncated_or_foreign_bytes_are_refused_not_panicked_on() {
        let node = NodeId::parse("node-a").unwrap();
        let bytes = Envelope::encode(&node, &msg(Some(7)));
        for cut in 0..12 {
            assert!(Envelope::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(Envelope::decode(&[9, 0]), Err(EnvelopeError::Version(9)));
        assert_eq!(
            Envelope::decode(&[1, 1, 0xff, 0, 0]),
            Err(EnvelopeError::Utf8)
        );
    }

    #[test]
    fn an_envelope_with_an_invalid_user_id_does_not_reach_the_hub() {
        let bytes = [1, 1, b'n', 3, b'a', b' ', b'b', 0, b'{', b'}'];
        let env = Envelope::decode(&bytes).unwrap();
        assert_eq!(env.into_message().unwrap_err(), EnvelopeError::User);
    }
}
