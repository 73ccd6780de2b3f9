//! What the frame types cannot say: where frames travel (WebSocket, SSE,
//! RabbitMQ, Redis), how a session ends, and how events arrive and are
//! dead-lettered. Names come from the constants the code uses.

use crate::protocol::{
    CLOSE_GOING_AWAY_RECONNECT, CLOSE_HEARTBEAT_TIMEOUT, CLOSE_POLICY_VIOLATION, CLOSE_RECONNECT,
    CLOSE_SERVER_ERROR, MAX_IDS_PER_FRAME,
};
use crate::sources::amqp::{DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE};
use serde_json::{json, Map, Value};

pub const DESCRIPTION: &str = "Herald's asynchronous interfaces. Users receive their feed over a \
WebSocket (`/api/v1/ws`) or, one-way, as Server-Sent Events (`/api/v1/sse`); both carry the same \
JSON frames. Services publish events to RabbitMQ or Redis, which enter the same pipeline as \
`POST /api/v1/events`. The REST API is described by `/api/v1/openapi.json`.";

/// One line per frame, for readers of the document.
pub fn summary(side: &str, frame: &str) -> &'static str {
    match (side, frame) {
        ("Server", "hello") => "First frame on connect (and again after the bus between nodes recovered): counts and the resume point; `recovered` says whether a `since` replay was complete.",
        ("Server", "notification") => "A new notification, or one replayed after `since`, in `seq` order.",
        ("Server", "read" | "unread" | "read_all") => "Read state changed, over REST or in another session.",
        ("Server", "seen" | "seen_all") => "Marked seen anywhere.",
        ("Server", "archived" | "unarchived") => "Archived or brought back anywhere.",
        ("Server", "snoozed") => "Snoozed anywhere, until `until`.",
        ("Server", "unsnoozed") => "A snooze ended: the notification is back in the default list.",
        ("Server", "deleted") => "Deleted anywhere.",
        ("Server", "error") => "A client frame was refused (`invalid_frame`, `invalid_notification_id`, `too_many_ids`), `busy`, or `rate_limited`; the socket stays open.",
        ("Server", "pong") => "The answer to `ping`.",
        ("Client", "mark_read" | "mark_seen") => "Mark the listed notifications (at most 1,000 ids).",
        ("Client", "mark_all_read" | "mark_all_seen") => "Mark every notification.",
        ("Client", "ack") => "The notifications are shown on a screen: their in-app deliveries become `delivered`.",
        ("Client", "ping") => "Asks for a `pong`.",
        _ => "A frame of the protocol.",
    }
}

fn close_codes() -> String {
    format!(
        "Close codes: {CLOSE_RECONNECT} the outbound queue overflowed or a write stalled; \
         {CLOSE_HEARTBEAT_TIMEOUT} no heartbeat answer; {CLOSE_GOING_AWAY_RECONNECT} this node is \
         draining (shutting down): reconnect, through the load balancer, with `since`. 4000-4499 \
         all mean reconnect and resume with `since=<last seq>`. {CLOSE_POLICY_VIOLATION} too many \
         frames refused by the rate limit; 1009 a frame too large; {CLOSE_SERVER_ERROR} server \
         error; 1000 normal. At most {MAX_IDS_PER_FRAME} ids per client frame."
    )
}

pub fn servers() -> Value {
    json!({
        "herald": {"host": "127.0.0.1:8080", "protocol": "ws",
            "description": "A Herald node (`HERALD_BIND`); `wss` behind TLS."},
        "herald-http": {"host": "127.0.0.1:8080", "protocol": "http",
            "description": "The same node, for the SSE fallback."},
        "rabbitmq": {"host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "`HERALD_AMQP_URL`; unset means no consumer."},
        "redis": {"host": "127.0.0.1:6379", "protocol": "redis",
            "description": "`HERALD_REDIS_URL`: pub/sub channels and streams read as events."},
    })
}

fn refs(ids: &[String], base: &str) -> Value {
    Value::Object(
        ids.iter()
            .map(|id| (id.clone(), json!({"$ref": format!("{base}/{id}")})))
            .collect(),
    )
}

fn op_refs(channel: &str, ids: &[String]) -> Value {
    ids.iter()
        .map(|id| json!({"$ref": format!("#/channels/{channel}/messages/{id}")}))
        .collect()
}

/// `token` and `since`, as both realtime transports read them.
fn realtime_query() -> Value {
    json!({"type": "object", "required": ["token"], "properties": {
        "token": {"type": "string", "description": "The user's JWT (or an `Authorization: Bearer` header); a bad one is a 401 JSON answer and no session."},
        "since": {"type": "integer", "minimum": 0, "description": "The last `seq` seen: every stored notification after it is replayed, gap-free, then the feed goes live."},
    }})
}

pub fn channels(server: &[String], client: &[String]) -> Value {
    let mut ws_messages = refs(server, "#/components/messages");
    if let (Some(all), Value::Object(more)) = (
        ws_messages.as_object_mut(),
        refs(client, "#/components/messages"),
    ) {
        all.extend(more);
    }
    json!({
        "websocket": {
            "address": "/api/v1/ws",
            "title": "WebSocket feed",
            "description": format!("`GET /api/v1/ws?token=<JWT>[&since=<seq>]`. Resume: reconnect with \
                `since`; `hello.recovered` is false when more than `ws.max_replay` were missed (then refetch \
                `GET /api/v1/notifications`). Beyond the per-user or per-address caps the upgrade is a 429. {}",
                close_codes()),
            "servers": [{"$ref": "#/servers/herald"}],
            "messages": ws_messages,
            "bindings": {"ws": {"method": "GET", "query": realtime_query(), "bindingVersion": "0.1.0"}},
        },
        "sse": {
            "address": "/api/v1/sse",
            "title": "Server-Sent Events fallback",
            "description": "`GET /api/v1/sse?token=<JWT>[&since=<seq>]` answers `text/event-stream` with the \
                WebSocket's server frames: `event:` is the frame's `type`, `data:` the JSON frame, and \
                notification frames carry `id: <seq>`. A `Last-Event-ID` header works like `since` and wins \
                over it. `retry: 2000` opens the stream and `: heartbeat` comments keep it alive. One-way: \
                commands go over REST.",
            "servers": [{"$ref": "#/servers/herald-http"}],
            "messages": refs(server, "#/components/messages"),
        },
        "amqp_events": {
            "address": "{routingKey}",
            "title": "RabbitMQ events",
            "description": "Events published to the topic exchange (`HERALD_AMQP_EXCHANGE`, default \
                `herald.events`) and read from the queues `HERALD_AMQP_QUEUES` binds (default \
                `herald.events=#`). Acked only after the event's transaction commits; a routing key is \
                the event type when the body names none.",
            "parameters": {"routingKey": {"description": "The event type, e.g. `booking.confirmed`."}},
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "messages": {"event": {"$ref": "#/components/messages/event"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": "herald.events", "type": "topic",
                "durable": true, "autoDelete": false, "vhost": "/"}, "bindingVersion": "0.3.0"}},
        },
        "amqp_dead_letter": {
            "address": DEAD_LETTER_QUEUE,
            "title": "RabbitMQ dead letters",
            "description": format!("What Herald could not process (malformed, unrouted, unrenderable, or \
                failing more than `HERALD_AMQP_MAX_REDELIVERIES` times) is published unchanged to the \
                `{DEAD_LETTER_EXCHANGE}` fanout exchange, bound to the `{DEAD_LETTER_QUEUE}` queue, with \
                its original routing key and the reason in headers. It is also kept for `GET /api/v1/dead-letters`."),
            "servers": [{"$ref": "#/servers/rabbitmq"}],
            "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
            "bindings": {"amqp": {"is": "queue", "queue": {"name": DEAD_LETTER_QUEUE, "durable": true,
                "exclusive": false, "autoDelete": false, "vhost": "/"}, "bindingVersion": "0.3.0"}},
        },
        "redis_pubsub": {
            "address": "{channel}",
            "title": "Redis pub/sub events",
            "description": "Channels named by `HERALD_REDIS_CHANNELS`; the channel is the event type when the \
                body names none. No redelivery: anything that fails is dead-lettered (`GET /api/v1/dead-letters`).",
            "parameters": {"channel": {"description": "A channel from `HERALD_REDIS_CHANNELS`."}},
            "servers": [{"$ref": "#/servers/redis"}],
            "messages": {"event": {"$ref": "#/components/messages/event"}},
        },
        "redis_stream": {
            "address": "{stream}",
            "title": "Redis stream events",
            "description": "Streams named by `HERALD_REDIS_STREAMS`, read by the consumer group `herald` with \
                XREADGROUP and XACKed after commit. The event is the entry's `event`, `data`, `payload`, \
                `body` or `message` field, else all fields as a flat object. An entry failing \
                `HERALD_REDIS_MAX_DELIVERIES` times is dead-lettered and acked.",
            "parameters": {"stream": {"description": "A stream from `HERALD_REDIS_STREAMS`."}},
            "servers": [{"$ref": "#/servers/redis"}],
            "messages": {"event": {"$ref": "#/components/messages/event"}},
        },
    })
}

pub fn operations(server: &[String], client: &[String]) -> Value {
    let receive = |channel: &str, summary: &str| {
        json!({"action": "receive", "channel": {"$ref": format!("#/channels/{channel}")},
               "summary": summary, "messages": op_refs(channel, &["event".to_string()])})
    };
    json!({
        "sendFrames": {"action": "send", "channel": {"$ref": "#/channels/websocket"},
            "summary": "Herald sends a user's feed and state changes.", "messages": op_refs("websocket", server)},
        "receiveCommands": {"action": "receive", "channel": {"$ref": "#/channels/websocket"},
            "summary": "Herald reads a client's commands.", "messages": op_refs("websocket", client)},
        "sendEvents": {"action": "send", "channel": {"$ref": "#/channels/sse"},
            "summary": "Herald streams the same frames as Server-Sent Events.", "messages": op_refs("sse", server)},
        "receiveAmqpEvents": receive("amqp_events", "Herald consumes events from RabbitMQ."),
        "sendAmqpDeadLetters": {"action": "send", "channel": {"$ref": "#/channels/amqp_dead_letter"},
            "summary": "Herald parks what it could not process.",
            "messages": op_refs("amqp_dead_letter", &["dead_letter".to_string()])},
        "receiveRedisPubSub": receive("redis_pubsub", "Herald reads events from Redis pub/sub."),
        "receiveRedisStream": receive("redis_stream", "Herald reads events from Redis streams."),
    })
}

/// The event envelope every source accepts, and the dead-letter message.
pub fn ingestion_components(schemas: &mut Map<String, Value>, messages: &mut Map<String, Value>) {
    let text = |d: &str| json!({"type": "string", "description": d});
    schemas.insert("Event".into(), json!({
        "type": "object",
        "description": "Flat JSON (`event_id`, `event_type` and fields at the top level) or the \
            `StandardMessage` envelope. Without a type, the routing key, channel or stream name is the \
            type; without an id, a SHA-256 of type and body stands in, so redeliveries dedupe.",
        "properties": {
            "event_id": text("The idempotency key (also `id` or `message_id`)."),
            "id": text("Envelope id."), "message_id": text("Envelope id."),
            "event_type": text("Dot-separated words matched by rule patterns (also `type`)."),
            "type": text("Envelope type."),
            "data": {"type": "object", "additionalProperties": true, "description": "Envelope payload (also `payload`)."},
            "payload": {"type": "object", "additionalProperties": true, "description": "Envelope payload."},
            "timestamp": {"type": "string", "format": "date-time"},
            "source": text("The publishing service."),
            "correlation_id": text("Carried through for tracing."),
            "user_id": text("The recipient, unless the rule's recipient mapping says otherwise."),
        },
        "additionalProperties": true,
    }));
    schemas.insert(
        "DeadLetterHeaders".into(),
        json!({
            "type": "object",
            "required": ["x-herald-reason", "x-herald-queue", "x-herald-routing-key"],
            "properties": {
                "x-herald-reason": text("Why Herald could not process the message."),
                "x-herald-queue": text("The queue it was read from."),
                "x-herald-routing-key": text("Its original routing key."),
            },
        }),
    );
    messages.insert(
        "event".into(),
        json!({
            "name": "event", "title": "Event", "contentType": "application/json",
            "payload": {"$ref": "#/components/schemas/Event"},
        }),
    );
    messages.insert(
        "dead_letter".into(),
        json!({
            "name": "dead_letter", "title": "Dead letter",
            "summary": "The original body, unchanged (it may not be JSON), persistent.",
            "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
            "payload": {"description": "The original message body."},
        }),
    );
}
