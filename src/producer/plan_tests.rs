//! The decision table, case by case.

use super::plan::{decide, plan, Facts};
use super::render::Rendered;
use super::{Content, Intent, ProducerError};
use crate::domain::{
    Category, Channel, ChannelOutcome, Contact, DeliveryContent, Email, PhoneNumber,
    PreferenceDocument, PreferencePatch, Priority, UserId,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn intent(channels: &[Channel]) -> Intent {
    Intent {
        user: UserId::parse("u1").unwrap(),
        channels: channels.to_vec(),
        category: Category::parse("booking").unwrap(),
        priority: Priority::Normal,
        content: Content::Plain {
            title: "Booked".into(),
            body: "Row B".into(),
            action_url: None,
            data: json!({}),
        },
        rule_id: None,
        request_id: Some("r1".into()),
        email: None,
        phone: None,
    }
}

fn prefs(doc: serde_json::Value) -> PreferenceDocument {
    let mut p = PreferenceDocument::default();
    p.apply(PreferencePatch::parse(&doc).unwrap());
    p
}

fn facts(p: &PreferenceDocument) -> Facts<'_> {
    Facts {
        prefs: p,
        email: Some(Email::parse("a@example.com").unwrap()),
        phone: Some(PhoneNumber::parse("+14155550123").unwrap()),
        push_recent: None,
        chat: Default::default(),
        now: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
    }
}

fn plain(c: Channel) -> Result<(Rendered, Option<(String, i32)>), ProducerError> {
    super::render::render(
        &crate::templates::TemplateEngine::new(),
        &intent(&[]).content,
        c,
        None,
    )
}

#[test]
fn every_channel_goes_ahead_when_nothing_stops_it_and_all_link_to_the_notification() {
    let p = PreferenceDocument::default();
    let all = [Channel::InApp, Channel::Email, Channel::Sms, Channel::Push];
    let planned = plan(&intent(&all), &facts(&p), plain).unwrap();
    assert_eq!(planned.outcomes[&Channel::InApp], ChannelOutcome::Accepted);
    for c in [Channel::Email, Channel::Sms, Channel::Push] {
        assert_eq!(planned.outcomes[&c], ChannelOutcome::Queued { until: None });
    }
    let n = planned.notification.expect("an in-app notification");
    assert_eq!(n.request_id.as_deref(), Some("r1"));
    assert_eq!(planned.deliveries.len(), 4, "in-app has a delivery too");
    assert!(planned.deliveries.iter().all(|d| d.notification == Some(0)));
    let email = planned
        .deliveries
        .iter()
        .find_map(|d| match &d.content {
            DeliveryContent::Email(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (email.subject.as_str(), email.text.as_str()),
        ("Booked", "Row B")
    );
}

#[test]
fn preferences_missing_contacts_and_webhooks_from_send_produce_nothing_with_a_reason() {
    let p =
        prefs(json!({"channels": {"push": false}, "categories": {"booking": {"email": false}}}));
    let mut f = facts(&p);
    f.phone = None;
    let i = intent(&[
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::Webhook,
    ]);
    let planned = plan(&i, &f, plain).unwrap();
    assert_eq!(
        planned.outcomes[&Channel::Email],
        ChannelOutcome::Suppressed
    );
    assert_eq!(planned.outcomes[&Channel::Push], ChannelOutcome::Suppressed);
    assert_eq!(
        planned.outcomes[&Channel::Sms],
        ChannelOutcome::Skipped {
            missing: Contact::Phone
        }
    );
    assert_eq!(
        planned.outcomes[&Channel::Webhook],
        ChannelOutcome::Unavailable
    );
    assert!(planned.notification.is_none() && planned.deliveries.is_empty());
}

#[test]
fn quiet_hours_hold_back_devices_but_not_the_feed_and_urgent_messages_bypass_them() {
    let p = prefs(json!({"quiet_hours": {"start": "11:00", "end": "13:00", "timezone": "UTC"}}));
    let f = facts(&p);
    let i = intent(&[Channel::InApp, Channel::Sms]);
    assert_eq!(decide(Channel::InApp, &i, &f), Ok(None));
    let held = decide(Channel::Sms, &i, &f).unwrap().expect("held");
    assert_eq!(held, Utc.with_ymd_and_hms(2026, 12, 1, 13, 0, 0).unwrap());
    let planned = plan(&i, &f, plain).unwrap();
    let sms = planned
        .deliveries
        .iter()
        .find(|d| matches!(d.content, DeliveryContent::Sms(_)));
    assert_eq!(sms.unwrap().not_before, held);
    let urgent = Intent {
        priority: Priority::Critical,
        ..i
    };
    assert_eq!(decide(Channel::Sms, &urgent, &f), Ok(None));
}

#[test]
fn the_push_throttle_drops_push_once_the_hourly_limit_is_reached() {
    let p = PreferenceDocument::default();
    let mut f = facts(&p);
    f.push_recent = Some((3, 3));
    assert_eq!(
        decide(Channel::Push, &intent(&[Channel::Push]), &f),
        Err(ChannelOutcome::Throttled {
            recent: 3,
            limit: 3
        })
    );
    f.push_recent = Some((2, 3));
    assert_eq!(
        decide(Channel::Push, &intent(&[Channel::Push]), &f),
        Ok(None)
    );
}

#[test]
fn nothing_is_rendered_for_a_channel_that_does_not_go_ahead() {
    let p = prefs(json!({"channels": {"email": false}}));
    let mut asked = vec![];
    let planned = plan(
        &intent(&[Channel::Email, Channel::InApp]),
        &facts(&p),
        |c| {
            asked.push(c);
            plain(c)
        },
    )
    .unwrap();
    assert_eq!(asked, vec![Channel::InApp]);
    assert_eq!(
        planned.outcomes[&Channel::Email],
        ChannelOutcome::Suppressed
    );
}

#[test]
fn an_empty_sms_text_is_refused_rather_than_queued() {
    let p = PreferenceDocument::default();
    let err = plan(&intent(&[Channel::Sms]), &facts(&p), |_| {
        Ok((Rendered::Sms { text: " ".into() }, None))
    })
    .unwrap_err();
    assert!(matches!(err, ProducerError::Content(_)));
}

fn templated() -> Intent {
    Intent {
        content: Content::Template {
            code: "t".into(),
            vars: json!({"booking_id": "B1", "internal_cost": 3, "other_email": "x@example.com"}),
            data: json!({"event_type": "booking.confirmed"}),
            in_app_overrides: (None, None, None),
        },
        ..intent(&[Channel::InApp])
    }
}

fn engine_with(in_app: serde_json::Value) -> crate::templates::TemplateEngine {
    let e = crate::templates::TemplateEngine::new();
    e.load(vec![crate::templates::LoadedTemplate {
        code: "t".into(),
        locale: "en".into(),
        version: 1,
        parts: crate::templates::TemplateParts::parse(&json!({ "in_app": in_app })).unwrap(),
    }]);
    e
}

fn planned_data(e: &crate::templates::TemplateEngine) -> Result<serde_json::Value, ProducerError> {
    let p = PreferenceDocument::default();
    let i = templated();
    let planned = plan(&i, &facts(&p), |c| {
        super::render::render(e, &i.content, c, None)
    })?;
    Ok(planned.notification.expect("a notification").data)
}

#[test]
fn notification_data_holds_only_what_the_template_declares_and_the_explicit_keys() {
    let e = engine_with(json!({"title": "Booked", "data": "{\"booking\": {{ booking_id }}}"}));
    assert_eq!(
        planned_data(&e).unwrap(),
        json!({"booking": "B1", "event_type": "booking.confirmed"})
    );
    let bare = engine_with(json!({"title": "Booked"}));
    assert_eq!(
        planned_data(&bare).unwrap(),
        json!({"event_type": "booking.confirmed"}),
        "no in_app.data: nothing from the event"
    );
}

#[test]
fn explicit_data_wins_over_declared_keys_and_declared_data_must_be_an_object() {
    let e = engine_with(json!({"title": "Booked", "data": "{\"event_type\": \"spoofed\"}"}));
    assert_eq!(planned_data(&e).unwrap()["event_type"], "booking.confirmed");
    let list = engine_with(json!({"title": "Booked", "data": "[{{ booking_id }}]"}));
    let err = planned_data(&list).unwrap_err();
    assert!(
        err.to_string().contains("must render to a JSON object"),
        "{err}"
    );
}

#[test]
fn a_stored_template_that_still_quotes_a_json_value_fails_with_the_fix_in_the_message() {
    // Saved before JSON parts were encoded: `load` accepts it, the render says why it fails.
    let e = engine_with(json!({"title": "Booked", "data": "{\"booking\": \"{{ booking_id }}\"}"}));
    let err = planned_data(&e).unwrap_err();
    assert!(err.to_string().contains("need no quotes"), "{err}");
}

#[test]
fn a_chat_channel_without_a_destination_is_skipped_and_a_rule_destination_is_remembered() {
    let p = PreferenceDocument::default();
    let mut f = facts(&p);
    let mut i = intent(&[Channel::Slack, Channel::Discord]);
    let planned = plan(&i, &f, plain).unwrap();
    for c in [Channel::Slack, Channel::Discord] {
        assert_eq!(
            planned.outcomes[&c],
            ChannelOutcome::Skipped {
                missing: Contact::ChatDestination
            }
        );
    }
    let rule = uuid::Uuid::now_v7();
    i.rule_id = Some(rule);
    f.chat.rule = vec![Channel::Slack];
    f.chat.user = vec![Channel::Discord];
    let planned = plan(&i, &f, plain).unwrap();
    assert_eq!(planned.deliveries.len(), 2);
    for d in &planned.deliveries {
        match &d.content {
            DeliveryContent::Slack(c) => assert_eq!(c.rule, Some(rule), "the rule's own wins"),
            DeliveryContent::Discord(c) => assert_eq!(c.rule, None, "the user's"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn rendered_tags_and_actions_reach_the_notification_and_invalid_ones_fail_the_render() {
    let e = engine_with(json!({"title": "Booked",
        "tags": "[{{ \"booking:\" ~ booking_id }}]",
        "actions": "[{\"label\": \"View\", \"url\": {{ \"/b/\" ~ booking_id }}}]"}));
    let (p, i) = (PreferenceDocument::default(), templated());
    let n = plan(&i, &facts(&p), |c| {
        super::render::render(&e, &i.content, c, None)
    })
    .unwrap()
    .notification
    .expect("a notification");
    assert_eq!(
        serde_json::to_value(&n.tags).unwrap(),
        json!(["booking:B1"])
    );
    assert_eq!(
        serde_json::to_value(&n.actions).unwrap(),
        json!([{"label": "View", "url": "/b/B1"}])
    );
    let both = engine_with(json!({"title": "Booked",
        "actions": "[{\"label\": \"x\", \"url\": \"/a\", \"event\": \"a.b\"}]"}));
    let err = plan(&i, &facts(&p), |c| {
        super::render::render(&both, &i.content, c, None)
    })
    .unwrap_err();
    assert!(matches!(err, ProducerError::Render { .. }), "{err}");
    assert!(
        err.to_string().contains("exactly one of url and event"),
        "{err}"
    );
}
