//! One node on the memory bus: `/ready` reports it, presence is the local hub.

use super::presence;
use crate::helpers::{wait_for, TestApp};
use crate::on_both_databases;
use serde_json::json;

async fn the_memory_bus_reports_itself_and_presence_follows_local_sockets(app: TestApp) {
    let ready = app.ready().await;
    assert_eq!(ready["components"]["realtime_bus"]["kind"], "memory");
    assert_eq!(ready["components"]["realtime_bus"]["state"], "connected");
    assert_eq!(ready["status"], "healthy");
    let node = ready["components"]["realtime_bus"]["node"].clone();
    let token = app.token("mo").await;
    let (ws, _) = app.ws(&token, None).await;
    let p = presence(&app, "mo").await;
    assert_eq!(
        (p["online"].clone(), p["sessions"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(p["nodes"], json!([node]));
    drop(ws);
    wait_for("mo offline", 10, || async {
        presence(&app, "mo").await["online"] == false
    })
    .await;
    let res = app
        .admin(reqwest::Method::GET, "/api/v1/users/bad%20id/presence")
        .send()
        .await
        .expect("presence");
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.expect("error json");
    assert!(body["error"]["code"].is_string(), "{body}");
    let res = app
        .client
        .get(app.url("/api/v1/users/mo/presence"))
        .send()
        .await
        .expect("presence");
    assert_eq!(res.status(), 401, "presence needs an admin key");
}

on_both_databases!(the_memory_bus_reports_itself_and_presence_follows_local_sockets);
