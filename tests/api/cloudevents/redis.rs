//! A structured-mode CloudEvent in a Redis stream entry's `event` field.

use super::{greeting_pack, structured, titles};
use crate::helpers::{wait_for, Backend};
use crate::on_both;
use crate::sources::{reachable, redis_app, redis_url};
use redis::AsyncCommands;

async fn a_structured_cloudevent_on_a_redis_stream_notifies_once(backend: Backend) {
    if !reachable("Redis", "127.0.0.1:6379").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("herald:test:ce:{s}");
    let Some(app) = redis_app(backend, "", &stream).await else {
        return;
    };
    greeting_pack(&app).await;
    let user = format!("ce-redis-{s}");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let event = structured(&format!("ce-r-{s}"), &user).to_string();
    for _ in 0..2 {
        let _: String = conn
            .xadd(&stream, "*", &[("event", event.as_str())])
            .await
            .unwrap();
    }
    wait_for("the stream's CloudEvent", 15, || async {
        !titles(&app, &user).await.is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(titles(&app, &user).await, vec!["Hello Ada"]);
    let trail = crate::events::audit(&app, &format!("ce-r-{s}")).await;
    assert_eq!(trail["source"], format!("stream:{stream}"));
    let _: () = conn.del(&stream).await.unwrap();
}

on_both!(a_structured_cloudevent_on_a_redis_stream_notifies_once);
