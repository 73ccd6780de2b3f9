//! OpenTelemetry: real `herald` processes export OTLP/HTTP to a local
//! collector stand-in. An event sent with a W3C `traceparent` (over HTTP, or
//! in an AMQP header) is one trace from the request to the webhook call,
//! which runs later from the outbox; the audit shows its trace id; and with
//! no endpoint configured nothing is exported.

mod collector;
mod flows;
