//! `Event::normalise`: every body a source or the HTTP API hands over.
//! Input: `fallback type` NUL `body` (an empty fallback is `None`).
#![no_main]

use herald::domain::Event;
use herald_fuzz::fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [fallback, body] = fields::<2>(data);
    let Ok(fallback) = std::str::from_utf8(fallback) else {
        return;
    };
    let fallback = (!fallback.is_empty()).then_some(fallback);
    let Ok(event) = Event::normalise(body, fallback) else {
        return;
    };
    // What the rest of the pipeline relies on once an event is accepted.
    let t = &event.event_type;
    assert!(!t.is_empty() && t.len() <= 255, "type length: {t:?}");
    assert!(
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c)),
        "type characters: {t:?}"
    );
    let id = &event.id;
    assert!(!id.is_empty() && id.len() <= 255, "id length: {id:?}");
    assert!(!id.chars().any(char::is_control), "id characters: {id:?}");
    // Redeliveries must dedupe: the same bytes give the same event.
    assert_eq!(Event::normalise(body, fallback).ok(), Some(event));
});
