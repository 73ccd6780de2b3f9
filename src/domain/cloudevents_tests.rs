use super::*;
use std::collections::HashMap;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn parse(body: &str) -> Result<Event, EventError> {
    Event::normalise(body.as_bytes(), Some("fallback.type"))
}

#[test]
fn a_structured_cloudevent_becomes_an_event_routed_by_its_type() {
    let e = parse(&format!(
        r#"{{"specversion":"1.0","id":"ce-1","type":"booking.confirmed","source":"/bookings",
            "subject":"b-9","time":"2026-12-02T10:00:00Z","datacontenttype":"application/json",
            "traceparent":"{TP}","data":{{"user_id":"u1","seats":2}}}}"#
    ))
    .unwrap();
    assert_eq!(
        (e.id.as_str(), e.event_type.as_str()),
        ("ce-1", "booking.confirmed")
    );
    assert_eq!(e.payload["user_id"], "u1");
    assert_eq!(e.payload["seats"], 2);
    assert_eq!(e.meta["source"], "/bookings");
    assert_eq!(e.meta["subject"], "b-9");
    assert_eq!(e.meta["specversion"], "1.0");
    assert!(
        !e.payload.contains_key("specversion"),
        "attributes are not data"
    );
    assert_eq!(
        e.trace.as_ref().map(|t| t.trace_id()),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}

#[test]
fn structured_data_may_come_as_base64_json() {
    let e = parse(
        r#"{"specversion":"1.0","id":"b","type":"t","source":"s","data_base64":"eyJ1c2VyX2lkIjoidTIifQ=="}"#,
    )
    .unwrap();
    assert_eq!(e.payload["user_id"], "u2");
}

#[test]
fn a_cloudevent_that_breaks_the_specification_is_refused_with_the_reason() {
    let cases = [
        (
            r#"{"specversion":"0.3","id":"a","type":"t","source":"s"}"#,
            "specversion must be \"1.0\"",
        ),
        (
            r#"{"specversion":"1.0","type":"t","source":"s"}"#,
            "'id' is missing",
        ),
        (
            r#"{"specversion":"1.0","id":"","type":"t","source":"s"}"#,
            "'id' is invalid",
        ),
        (
            r#"{"specversion":"1.0","id":"a","source":"s"}"#,
            "'type' is missing",
        ),
        (
            r#"{"specversion":"1.0","id":"a","type":"t"}"#,
            "'source' is missing",
        ),
        (
            r#"{"specversion":"1.0","id":"a","type":"t","source":"s","time":"yesterday"}"#,
            "'time' is invalid",
        ),
        (
            r#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":[1]}"#,
            "data must be a JSON object",
        ),
        (
            r#"{"specversion":1,"id":"a","type":"t","source":"s"}"#,
            "'specversion' is invalid",
        ),
        (
            r#"{"specversion":"1.0","id":"a","type":"t","source":"s","datacontenttype":"text/xml","data":{}}"#,
            "'datacontenttype' is invalid",
        ),
    ];
    for (body, want) in cases {
        let err = parse(body).unwrap_err();
        assert!(matches!(err, EventError::CloudEvent(_)), "{body}: {err:?}");
        assert!(err.to_string().contains(want), "{body}: {err}");
    }
}

#[test]
fn existing_envelopes_without_specversion_keep_their_meaning() {
    let e = parse(r#"{"id":"m1","type":"a.b","source":"svc","data":{"user_id":"u"}}"#).unwrap();
    assert_eq!(e.id, "m1");
    assert_eq!(e.meta["source"], "svc");
    assert!(e.trace.is_none());
}

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_binary_cloudevent_reads_its_attributes_and_takes_the_body_as_data() {
    let h = headers(&[
        ("specversion", "1.0"),
        ("id", "bin-1"),
        ("type", "payment.failed"),
        ("source", "urn:payments"),
        ("subject", "inv-3"),
        ("traceparent", TP),
    ]);
    let e = binary(
        |k| h.get(k).cloned(),
        Some("application/json; charset=utf-8"),
        br#"{"user_id":"u"}"#,
    )
    .unwrap();
    assert_eq!(
        (e.id.as_str(), e.event_type.as_str()),
        ("bin-1", "payment.failed")
    );
    assert_eq!(e.payload["user_id"], "u");
    assert_eq!(e.meta["subject"], "inv-3");
    assert_eq!(e.meta["datacontenttype"], "application/json; charset=utf-8");
    assert!(e.trace.is_some());
}

#[test]
fn a_binary_cloudevent_without_an_id_or_with_xml_data_is_refused() {
    let h = headers(&[("specversion", "1.0"), ("type", "t"), ("source", "s")]);
    let err = binary(|k| h.get(k).cloned(), None, b"{}").unwrap_err();
    assert_eq!(err, EventError::CloudEvent(CloudEventError::Missing("id")));
    let h = headers(&[
        ("specversion", "1.0"),
        ("id", "x"),
        ("type", "t"),
        ("source", "s"),
    ]);
    assert!(binary(|k| h.get(k).cloned(), Some("application/xml"), b"<a/>").is_err());
    assert!(matches!(
        binary(|k| h.get(k).cloned(), None, b"{nope"),
        Err(EventError::NotJson(_))
    ));
}

#[test]
fn a_batch_reads_each_element_on_its_own() {
    let items = batch(
        br#"[{"specversion":"1.0","id":"1","type":"t","source":"s","data":{}},
             {"specversion":"2.0","id":"2","type":"t","source":"s"},
             {"id":"3"}]"#,
    )
    .unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok());
    assert!(matches!(
        items[1],
        Err(EventError::CloudEvent(CloudEventError::SpecVersion(_)))
    ));
    assert!(matches!(
        items[2],
        Err(EventError::CloudEvent(CloudEventError::Missing(
            "specversion"
        )))
    ));
    assert_eq!(
        batch(b"[]").unwrap_err(),
        EventError::CloudEvent(CloudEventError::Batch)
    );
    assert_eq!(
        batch(b"{}").unwrap_err(),
        EventError::CloudEvent(CloudEventError::Batch)
    );
}
