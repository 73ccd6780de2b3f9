//! Domain types. They depend on nothing else in the crate: every value that
//! comes from outside is parsed into one of these once, at the edge.

mod channel;
mod chat;
mod cloudevents;
mod delivery;
mod device;
mod digest;
mod escalation;
mod event;
mod ids;
mod inbox;
mod notification;
mod outcome;
mod preferences;
mod profile;
mod rule;
mod span;
mod text;
mod topic;
mod topic_target;
mod trace_context;
mod web_push;

pub use channel::Channel;
pub use chat::{chat_part, ChatContent, ChatDestination, ChatTarget, SlackChannelId};
pub use cloudevents::{batch as cloudevents_batch, binary as cloudevent_binary, CloudEventError};
pub use delivery::{
    DeliveryContent, DeliveryStatus, EmailContent, PushContent, SmsContent, WebhookContent,
};
pub use device::{DeviceToken, Platform, PushProvider};
pub use digest::{
    DigestInput, DigestKey, DigestSpec, Excess, Throttle, ThrottleInput, ThrottleScope,
    MAX_DIGEST_ITEMS,
};
pub use escalation::{
    Escalation, EscalationStep, EscalationStepInput, StepDecision, StepReason, WatchedState,
    MAX_ESCALATION_STEPS,
};
pub use event::{Event, EventError, EventPattern};
pub use ids::{NotificationId, UserId};
pub use inbox::{
    ActionInput, Actions, InboxStatus, NotificationAction, Snooze, Tag, Tags,
    DEFAULT_MAX_SNOOZE_DAYS,
};
pub use notification::{
    parse_request_id, ActionUrl, Category, NewNotification, NotificationView, Priority,
};
pub use outcome::{ChannelOutcome, Contact};
pub use preferences::{digest_value, digest_zone, DigestWindow};
pub use preferences::{switches_value, PreferenceDocument, PreferencePatch, QuietHours};
pub use profile::{Email, Locale, PhoneNumber, TimeZone};
pub use rule::{lookup, RecipientMap, Rule};
pub use span::{Span, MAX_SPAN_SECS};
pub use text::{find_nul, has_control};
pub use topic::{ChangeOrigin, PreferenceChange, TopicError, TopicKey};
pub use topic_target::TopicTarget;
pub use trace_context::{TraceContext, TraceContextError, TraceParent};
pub use web_push::WebPushSubscription;

/// Why a value from outside was refused. Each variant maps to a stable API error code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("invalid user id: {0}")]
    InvalidUserId(String),
    #[error("invalid notification id: {0}")]
    InvalidNotificationId(String),
    #[error("unknown channel '{0}'; expected one of in_app, email, push, web_push, sms, webhook, slack, discord, teams")]
    InvalidChannel(String),
    #[error("invalid category: {0}")]
    InvalidCategory(String),
    #[error("invalid priority: {0}")]
    InvalidPriority(String),
    #[error("invalid device token: {0}")]
    InvalidDeviceToken(String),
    #[error("unknown platform '{0}'; expected ios, android or web")]
    InvalidPlatform(String),
    #[error("unknown push provider '{0}'; expected apns, fcm or web_push")]
    InvalidProvider(String),
    #[error("invalid quiet hours: {0}")]
    InvalidQuietHours(String),
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// U+0000 anywhere in text: PostgreSQL cannot store it.
    #[error("{field} contains a NUL character (U+0000)")]
    NulByte { field: String },
    #[error("{field} contains a control character")]
    ControlCharacter { field: String },
    #[error("invalid tag: {0}")]
    InvalidTag(String),
    #[error("invalid action: {0}")]
    InvalidAction(String),
    #[error("invalid snooze: {0}")]
    InvalidSnooze(String),
    #[error("invalid duration: {0}")]
    InvalidSpan(String),
}

impl DomainError {
    /// Stable, machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUserId(_) => "invalid_user_id",
            Self::InvalidNotificationId(_) => "invalid_notification_id",
            Self::InvalidChannel(_) => "invalid_channel",
            Self::InvalidCategory(_) => "invalid_category",
            Self::InvalidPriority(_) => "invalid_priority",
            Self::InvalidDeviceToken(_) => "invalid_device_token",
            Self::InvalidPlatform(_) => "invalid_platform",
            Self::InvalidProvider(_) => "invalid_provider",
            Self::InvalidQuietHours(_) => "invalid_quiet_hours",
            Self::InvalidField { .. } => "invalid_field",
            Self::NulByte { .. } => "nul_byte",
            Self::ControlCharacter { .. } => "control_character",
            Self::InvalidTag(_) => "invalid_tag",
            Self::InvalidAction(_) => "invalid_action",
            Self::InvalidSnooze(_) => "invalid_snooze",
            Self::InvalidSpan(_) => "invalid_duration",
        }
    }
}

/// Checks a free-text field's length, counting characters, not bytes.
pub fn bounded_text(
    field: &'static str,
    value: String,
    max_chars: usize,
) -> Result<String, DomainError> {
    if value.contains('\0') {
        return Err(DomainError::NulByte {
            field: field.into(),
        });
    }
    if value.chars().count() > max_chars {
        return Err(DomainError::InvalidField {
            field,
            reason: format!("longer than {max_chars} characters"),
        });
    }
    Ok(value)
}
