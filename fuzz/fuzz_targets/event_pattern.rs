//! `EventPattern::parse` then `matches`, as rules use them on every event.
//! Input: `pattern` NUL `event type`.
#![no_main]

use herald::domain::EventPattern;
use herald_fuzz::text_fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some([raw, event_type]) = text_fields::<2>(data) else {
        return;
    };
    let Ok(pattern) = EventPattern::parse(raw) else {
        return;
    };
    assert_eq!(pattern.as_str(), raw);
    // `*` and `#` each match themselves as a literal word, so every valid
    // pattern matches its own text.
    assert!(pattern.matches(raw), "{raw:?} does not match itself");
    let _ = pattern.matches(event_type);
});
