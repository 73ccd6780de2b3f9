//! The producer's intent as a scheduled row stores it. Every field is the
//! typed value written out; reading it back parses each one again, so a row
//! edited by hand cannot smuggle in what the API would have refused.

use crate::domain::{
    ActionInput, Actions, Category, Channel, DomainError, Email, NotificationAction, PhoneNumber,
    Priority, Tags, UserId,
};
use crate::producer::{Content, InAppExtras, Intent};
use serde::{Deserialize, Serialize};

/// One scheduled send, as stored. The request id is always set: it is the
/// row's idempotency key and the guard that makes the send happen once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredIntent {
    user: String,
    channels: Vec<Channel>,
    category: String,
    priority: Priority,
    content: Content,
    rule_id: Option<uuid::Uuid>,
    request_id: String,
    email: Option<String>,
    phone: Option<String>,
    tags: Vec<String>,
    actions: Vec<NotificationAction>,
    /// An escalation step's watch: the step runs only while it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watch: Option<crate::escalation::Watch>,
}

impl StoredIntent {
    pub fn new(intent: &Intent, extras: &InAppExtras, request_id: &str) -> Self {
        Self {
            user: intent.user.as_str().to_string(),
            channels: intent.channels.clone(),
            category: intent.category.as_str().to_string(),
            priority: intent.priority,
            content: intent.content.clone(),
            rule_id: intent.rule_id,
            request_id: request_id.to_string(),
            email: intent.email.as_ref().map(|e| e.as_str().to_string()),
            phone: intent.phone.as_ref().map(|p| p.as_str().to_string()),
            tags: extras.tags.iter().map(|t| t.as_str().to_string()).collect(),
            actions: extras.actions.clone().into_vec(),
            watch: None,
        }
    }

    /// Makes the send an escalation step that runs only while `watch` holds.
    pub fn watching(mut self, watch: crate::escalation::Watch) -> Self {
        self.watch = Some(watch);
        self
    }

    pub fn watch(&self) -> Option<&crate::escalation::Watch> {
        self.watch.as_ref()
    }

    /// Parses every field back into the producer's types.
    pub fn into_intent(self) -> Result<(Intent, InAppExtras), DomainError> {
        let actions = self.actions.into_iter().map(ActionInput::from).collect();
        let intent = Intent {
            user: UserId::parse(self.user)?,
            channels: self.channels,
            category: Category::parse(self.category)?,
            priority: self.priority,
            content: self.content,
            rule_id: self.rule_id,
            request_id: Some(crate::domain::parse_request_id(self.request_id)?),
            email: self.email.as_deref().map(Email::parse).transpose()?,
            phone: self.phone.as_deref().map(PhoneNumber::parse).transpose()?,
        };
        let extras = InAppExtras {
            tags: Tags::parse(self.tags)?,
            actions: Actions::parse(actions)?,
        };
        Ok((intent, extras))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_intent_reads_back_as_it_was_written() {
        let intent = Intent {
            user: UserId::parse("u-1").unwrap(),
            channels: vec![Channel::InApp, Channel::Email],
            category: Category::parse("billing").unwrap(),
            priority: Priority::High,
            content: Content::Template {
                code: "invoice".into(),
                vars: json!({"n": 1}),
                data: json!({}),
                in_app_overrides: (Some("Hi".into()), None, None),
            },
            rule_id: None,
            request_id: None,
            email: Some(Email::parse("a@example.com").unwrap()),
            phone: None,
        };
        let extras = InAppExtras {
            tags: Tags::parse(vec!["x".into()]).unwrap(),
            actions: Actions::default(),
        };
        let stored = StoredIntent::new(&intent, &extras, "r-1");
        let text = serde_json::to_string(&stored).unwrap();
        let back: StoredIntent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stored);
        let (again, extras_again) = back.into_intent().unwrap();
        assert_eq!(again.request_id.as_deref(), Some("r-1"));
        assert_eq!(again.channels, intent.channels);
        assert_eq!(again.email, intent.email);
        assert_eq!(extras_again.tags, extras.tags);
    }
}
