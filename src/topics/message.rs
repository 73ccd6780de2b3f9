//! What a topic send gives every subscriber, stored on its fan-out row so a
//! resumed fan-out (on any node) sends exactly what was asked.

use super::TopicsError;
use crate::domain::{
    ActionInput, Actions, Category, Channel, NotificationAction, Priority, Tags, UserId,
};
use crate::producer::{Content, InAppExtras, Intent};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    channels: Vec<Channel>,
    category: String,
    priority: Priority,
    content: Content,
    tags: Vec<String>,
    actions: Vec<NotificationAction>,
}

/// A topic send, parsed: everything of an [`Intent`] but its recipient.
#[derive(Clone, Debug)]
pub struct TopicMessage {
    channels: Vec<Channel>,
    category: Category,
    priority: Priority,
    content: Content,
    pub extras: InAppExtras,
}

impl TopicMessage {
    /// Takes what a parsed send asks for; its recipient is ignored.
    pub fn from_intent(intent: Intent, extras: InAppExtras) -> Self {
        Self {
            channels: intent.channels,
            category: intent.category,
            priority: intent.priority,
            content: intent.content,
            extras,
        }
    }

    /// A rule's message: its template over the event, on its channels.
    pub fn for_rule(rule: &crate::domain::Rule, content: Content) -> Self {
        Self {
            channels: rule.channels.clone(),
            category: rule.category.clone(),
            priority: rule.priority,
            content,
            extras: InAppExtras::default(),
        }
    }

    /// The intent for one subscriber, guarded by the fan-out's key.
    pub fn intent_for(&self, user: UserId, guard_key: String) -> Intent {
        Intent {
            user,
            channels: self.channels.clone(),
            category: self.category.clone(),
            priority: self.priority,
            content: self.content.clone(),
            rule_id: None,
            request_id: Some(guard_key),
            email: None,
            phone: None,
        }
    }

    pub fn to_text(&self) -> Result<String, TopicsError> {
        let stored = Stored {
            channels: self.channels.clone(),
            category: self.category.as_str().to_string(),
            priority: self.priority,
            content: self.content.clone(),
            tags: self
                .extras
                .tags
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            actions: self.extras.actions.clone().into_vec(),
        };
        serde_json::to_string(&stored).map_err(|e| TopicsError::Message(e.to_string()))
    }

    /// Reads a stored message back through the same parsers a send goes through.
    pub fn parse(text: &str) -> Result<Self, TopicsError> {
        let bad = |e: &dyn std::fmt::Display| TopicsError::Message(e.to_string());
        let s: Stored = serde_json::from_str(text).map_err(|e| bad(&e))?;
        let actions = s.actions.into_iter().map(ActionInput::from).collect();
        Ok(Self {
            channels: s.channels,
            category: Category::parse(s.category).map_err(|e| bad(&e))?,
            priority: s.priority,
            content: s.content,
            extras: InAppExtras {
                tags: Tags::parse(s.tags).map_err(|e| bad(&e))?,
                actions: Actions::parse(actions).map_err(|e| bad(&e))?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_message_reads_back_as_it_was_sent() {
        let intent = Intent {
            user: UserId::parse("anyone").unwrap(),
            channels: vec![Channel::InApp, Channel::Email],
            category: Category::parse("news").unwrap(),
            priority: Priority::High,
            content: Content::Template {
                code: "welcome".into(),
                vars: json!({"film": "Inception"}),
                data: json!({"k": 1}),
                in_app_overrides: (Some("T".into()), None, None),
            },
            rule_id: None,
            request_id: None,
            email: None,
            phone: None,
        };
        let extras = InAppExtras {
            tags: Tags::parse(vec!["a".into()]).unwrap(),
            actions: Actions::parse(vec![ActionInput {
                label: "View".into(),
                url: Some("/x".into()),
                event: None,
            }])
            .unwrap(),
        };
        let text = TopicMessage::from_intent(intent, extras).to_text().unwrap();
        let back = TopicMessage::parse(&text).unwrap();
        assert_eq!(back.to_text().unwrap(), text);
        let one = back.intent_for(UserId::parse("u1").unwrap(), "topic:x".into());
        assert_eq!(one.user.as_str(), "u1");
        assert_eq!(one.request_id.as_deref(), Some("topic:x"));
        assert_eq!(one.channels, vec![Channel::InApp, Channel::Email]);
    }

    #[test]
    fn a_corrupt_stored_message_is_an_error_not_a_panic() {
        assert!(TopicMessage::parse("{\"channels\": 3}").is_err());
        assert!(TopicMessage::parse("not json").is_err());
    }
}
