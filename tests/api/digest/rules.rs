use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    a_rule_with_a_bad_digest_or_throttle_is_refused_and_a_good_one_reads_back,
    the_digest_escalation_pack_imports_once,
);

fn rule(extra: Value) -> Value {
    let mut r = json!({"name": "r", "event_pattern": "order.*", "channels": ["in_app"], "template_code": "t"});
    if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    r
}

async fn a_rule_with_a_bad_digest_or_throttle_is_refused_and_a_good_one_reads_back(app: TestApp) {
    for bad in [
        json!({"digest": {"window": "soon"}}),
        json!({"digest": {"window": "10m", "max_items": 0}}),
        json!({"digest": {"window": "10m", "colour": "red"}}),
        json!({"digest": {"key": "{{ booking_id", "window": "10m"}}),
        json!({"digest": {"key": "a b", "window": "10m"}}),
        json!({"throttle": {"limit": 0, "window": "1h"}}),
        json!({"throttle": {"limit": 3, "window": "1h", "excess": "queue"}}),
        json!({"throttle": "3/h"}),
    ] {
        let res = app
            .admin(Method::POST, "/api/v1/rules")
            .json(&rule(bad.clone()))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 422, "{bad}");
        let body: Value = res.json().await.expect("error json");
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{body}"
        );
    }
    let good = json!({"digest": {"key": "{{ booking_id }}", "window": "600s", "max_items": 20},
                      "throttle": {"limit": 3, "window": "1h"}});
    let res = app
        .admin(Method::POST, "/api/v1/rules")
        .json(&rule(good))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    let saved: Value = res.json().await.expect("rule json");
    assert_eq!(
        saved["digest"],
        json!({"key": "{{ booking_id }}", "window": "10m", "max_items": 20})
    );
    assert_eq!(
        saved["throttle"],
        json!({"limit": 3, "window": "1h", "scope": "rule", "excess": "drop"})
    );
    let id = saved["id"].as_str().expect("id");
    let res = app
        .admin(Method::GET, &format!("/api/v1/rules/{id}"))
        .send()
        .await
        .expect("get");
    let read: Value = res.json().await.expect("rule json");
    assert_eq!(read["digest"], saved["digest"]);
}

async fn the_digest_escalation_pack_imports_once(app: TestApp) {
    let pack: Value = serde_json::from_str(include_str!(
        "../../../examples/digest-escalation/pack.json"
    ))
    .expect("pack");
    let import = |pack: Value| {
        let req = app.admin(Method::POST, "/api/v1/import").json(&pack);
        async move {
            req.send()
                .await
                .expect("import")
                .json::<Value>()
                .await
                .expect("summary")
        }
    };
    let rules = pack["rules"].as_array().map(Vec::len).expect("rules");
    let first = import(pack.clone()).await;
    assert_eq!(first["rules"]["created"], rules, "{first}");
    let again = import(pack).await;
    assert_eq!(again["rules"]["unchanged"], rules, "{again}");
}
