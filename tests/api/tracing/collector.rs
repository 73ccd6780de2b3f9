//! An OTLP/HTTP collector stand-in: decodes `POST /v1/traces` protobuf bodies
//! and keeps every span.

use actix_web::{web, App, HttpResponse, HttpServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One exported span, ids in hex.
#[derive(Clone, Debug)]
pub struct Span {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub service: String,
}

pub struct Collector {
    pub port: u16,
    spans: Arc<Mutex<Vec<Span>>>,
}

fn service_of(resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>) -> String {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    resource
        .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

async fn traces(body: web::Bytes, spans: web::Data<Mutex<Vec<Span>>>) -> HttpResponse {
    let Ok(req) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut kept = spans.lock().unwrap();
    for rs in req.resource_spans {
        let service = service_of(rs.resource.as_ref());
        for ss in rs.scope_spans {
            for s in ss.spans {
                kept.push(Span {
                    name: s.name,
                    trace_id: hex::encode(s.trace_id),
                    span_id: hex::encode(s.span_id),
                    parent_span_id: hex::encode(s.parent_span_id),
                    service: service.clone(),
                });
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(Vec::<u8>::new())
}

impl Collector {
    pub async fn start() -> Self {
        let spans = web::Data::new(Mutex::new(Vec::new()));
        let data = spans.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 << 20))
                .route("/v1/traces", web::post().to(traces))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind the collector");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self {
            port,
            spans: spans.into_inner(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    /// The names of the spans from `span` up to the trace's root, `span` first.
    pub fn ancestry(&self, span: &Span) -> Vec<String> {
        let all = self.spans();
        let by_id: HashMap<&str, &Span> = all.iter().map(|s| (s.span_id.as_str(), s)).collect();
        let mut chain = vec![span.name.clone()];
        let mut parent = span.parent_span_id.clone();
        while let Some(p) = by_id.get(parent.as_str()) {
            chain.push(p.name.clone());
            parent = p.parent_span_id.clone();
        }
        // The last parent is not among the exported spans: the caller's own span id.
        chain.push(format!("remote:{parent}"));
        chain
    }
}
