//! The outbox contract shared by the producer (which writes deliveries) and
//! the providers (which read them): typed content per channel, and a status
//! whose allowed moves are written here and nowhere else.

use super::{Channel, ChatContent, DomainError, Email, PhoneNumber};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a delivery is in its life. Moves only forward, by [`DeliveryStatus::can_move_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its time (retry backoff, quiet hours, an open circuit).
    Pending,
    /// Claimed by a sender holding the row's lease token.
    Sending,
    /// The provider accepted it (in-app: the frame was published).
    Sent,
    /// The provider, or the client's ack, confirmed it reached the device or inbox.
    Delivered,
    Opened,
    Clicked,
    /// The receiving server refused it after acceptance.
    Bounced,
    /// The provider reported it undeliverable after acceptance.
    Failed,
    /// Retries were spent, or the error was permanent.
    Dead,
    /// Preferences turned it off before it was sent.
    Suppressed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 10] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::Opened,
        Self::Clicked,
        Self::Bounced,
        Self::Failed,
        Self::Dead,
        Self::Suppressed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Opened => "opened",
            Self::Clicked => "clicked",
            Self::Bounced => "bounced",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Suppressed => "suppressed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| DomainError::InvalidField {
                field: "status",
                reason: format!("unknown delivery status '{raw}'"),
            })
    }

    /// How far along the provider's confirmations a sent delivery is. A
    /// callback may only raise it, so a late `sent` never undoes `delivered`.
    fn confirmation_rank(&self) -> Option<u8> {
        match self {
            Self::Sent => Some(0),
            Self::Delivered => Some(1),
            Self::Opened => Some(2),
            Self::Clicked => Some(3),
            _ => None,
        }
    }

    /// The one table of allowed moves.
    pub fn can_move_to(&self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (*self, next) {
            // Claimed (or re-claimed after a lease ran out), or dropped before sending.
            (Pending | Sending, Sending) => true,
            (Pending, Suppressed | Dead) => true,
            // What one attempt can come to.
            (Sending, Pending | Sent | Dead | Suppressed) => true,
            // Provider confirmations, forward only.
            (from, to)
                if from.confirmation_rank().is_some() && to.confirmation_rank().is_some() =>
            {
                to.confirmation_rank() > from.confirmation_rank()
            }
            (Sent | Delivered, Bounced | Failed) => true,
            _ => false,
        }
    }

    /// Statuses nothing will change again.
    pub fn is_final(&self) -> bool {
        Self::ALL.iter().all(|s| !self.can_move_to(*s))
    }

    /// Past its send: only a provider's report can still change it. Retention
    /// prunes these once they are old; `pending` and `sending` are never pruned.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Self::Pending | Self::Sending)
    }

    /// The stored names of every settled status.
    pub fn settled() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(Self::is_settled)
            .map(|s| s.as_str())
            .collect()
    }

    /// Whether a provider's report may move a delivery from `self` to `next`:
    /// only up the confirmations, or to bounced/failed once the provider had it.
    /// A report never touches a row that is still pending or being sent.
    pub fn can_confirm(&self, next: DeliveryStatus) -> bool {
        self.confirmation_rank().is_some() && self.can_move_to(next)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email, rendered, addressed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailContent {
    #[serde(with = "as_str::email")]
    pub to: Email,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsContent {
    #[serde(with = "as_str::phone")]
    pub to: PhoneNumber,
    pub text: String,
}

/// A push message; it goes to every active device of the delivery's user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushContent {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_url: Option<String>,
}

/// A signed POST to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookContent {
    pub endpoint: Uuid,
    /// The event it carries, when it came from one (`webhook.test` has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The JSON body: `{type, timestamp, data}`.
    pub payload: serde_json::Value,
}

/// What a delivery carries, one variant per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum DeliveryContent {
    /// The notification row is the content; the delivery tracks its status.
    InApp,
    Email(EmailContent),
    Sms(SmsContent),
    Push(PushContent),
    Webhook(WebhookContent),
    Slack(ChatContent),
    Discord(ChatContent),
    Teams(ChatContent),
    /// The same message as `Push`, sent to the user's Web Push subscriptions.
    WebPush(PushContent),
}

impl DeliveryContent {
    pub fn channel(&self) -> Channel {
        match self {
            Self::InApp => Channel::InApp,
            Self::Email(_) => Channel::Email,
            Self::Sms(_) => Channel::Sms,
            Self::Push(_) => Channel::Push,
            Self::Webhook(_) => Channel::Webhook,
            Self::Slack(_) => Channel::Slack,
            Self::Discord(_) => Channel::Discord,
            Self::Teams(_) => Channel::Teams,
            Self::WebPush(_) => Channel::WebPush,
        }
    }
}

/// Contacts are stored as their text and parsed again when read.
mod as_str {
    macro_rules! via_str {
        ($name:ident, $ty:ty) => {
            pub mod $name {
                use serde::{Deserialize, Deserializer, Serializer};
                pub fn serialize<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str(v.as_str())
                }
                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                    let raw = String::deserialize(d)?;
                    <$ty>::parse(&raw).map_err(serde::de::Error::custom)
                }
            }
        };
    }
    via_str!(email, crate::domain::Email);
    via_str!(phone, crate::domain::PhoneNumber);
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;
    use super::*;

    #[test]
    fn confirmations_only_move_forward() {
        assert!(Sent.can_move_to(Delivered));
        assert!(Delivered.can_move_to(Clicked));
        assert!(!Delivered.can_move_to(Sent), "a late `sent` callback");
        assert!(!Opened.can_move_to(Delivered));
        assert!(!Bounced.can_move_to(Delivered));
        assert!(Sent.can_move_to(Bounced));
    }

    #[test]
    fn only_a_claimed_delivery_can_be_settled() {
        assert!(Sending.can_move_to(Sent));
        assert!(!Pending.can_move_to(Sent));
        assert!(Sending.can_move_to(Pending), "a retry");
        assert!(!Dead.can_move_to(Pending));
        assert!(Pending.can_move_to(Sending) && Sending.can_move_to(Sending));
    }

    #[test]
    fn reports_only_confirm_what_the_provider_already_had() {
        assert!(Sent.can_confirm(Delivered));
        assert!(
            !Sending.can_confirm(Sent),
            "the sender's settle decides that"
        );
        assert!(!Pending.can_confirm(Dead));
        assert!(!Delivered.can_confirm(Sent));
        assert_eq!(
            DeliveryStatus::settled(),
            vec![
                "sent",
                "delivered",
                "opened",
                "clicked",
                "bounced",
                "failed",
                "dead",
                "suppressed"
            ]
        );
    }

    #[test]
    fn final_statuses_are_the_ones_nothing_changes() {
        let finals: Vec<_> = DeliveryStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, vec![Clicked, Bounced, Failed, Dead, Suppressed]);
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Ok(s));
        }
    }

    #[test]
    fn content_round_trips_and_refuses_a_bad_address() {
        let c = DeliveryContent::Sms(SmsContent {
            to: PhoneNumber::parse("+14155550123").unwrap(),
            text: "hi".into(),
        });
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"channel":"sms","to":"+14155550123","text":"hi"}"#);
        assert_eq!(serde_json::from_str::<DeliveryContent>(&json).unwrap(), c);
        let bad = r#"{"channel":"email","to":"nope","subject":"s","text":"t"}"#;
        assert!(serde_json::from_str::<DeliveryContent>(bad).is_err());
        assert_eq!(c.channel(), Channel::Sms);
    }
}
