//! Delivery status (admin) and one-click unsubscribe (RFC 8058).

use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::domain::{Category, ChangeOrigin, Channel, PreferencePatch, UserId};
use crate::persistence::{deliveries, notifications, preferences, send_requests};
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/notifications/{id}/deliveries").get(for_notification))
        .service(Endpoint::new("/deliveries").get(by_request))
        .service(
            Endpoint::new("/unsubscribe")
                .get(unsubscribe_page)
                .post(unsubscribe),
        );
}

/// Deliveries as JSON, each with its attempt history (status API and webhook log).
pub(crate) async fn with_attempts(
    state: &AppState,
    rows: Vec<entity::deliveries::Model>,
) -> Result<Vec<Value>, ApiError> {
    let mut out = vec![];
    for row in rows {
        let mut v = super::events::delivery_json(&row)?;
        let attempts = deliveries::attempts(&state.db, row.id).await?;
        v["attempts_history"] = json!(attempts
            .iter()
            .map(|a| json!({"attempt": a.attempt, "outcome": a.outcome, "error": a.error,
                            "provider_message_id": a.provider_message_id, "latency_ms": a.latency_ms, "at": a.created_at}))
            .collect::<Vec<_>>());
        out.push(v);
    }
    Ok(out)
}

/// Every channel's status and attempt history for a notification.
#[utoipa::path(get, path = "/api/v1/notifications/{id}/deliveries", tag = "deliveries", params(("id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = super::bodies::views::NotificationDeliveries)))]
#[tracing::instrument(skip_all)]
pub async fn for_notification(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::domain::NotificationId::parse(&path)?.as_uuid();
    let rows = deliveries::for_notification(&state.db, id).await?;
    if rows.is_empty() && !notifications::exists(&state.db, id).await? {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::Ok()
        .json(json!({"notification_id": id, "items": with_attempts(&state, rows).await?})))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ByRequest {
    pub user_id: String,
    pub request_id: String,
}

/// Status by the `/send` request id.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries", params(ByRequest), security(("api_key" = [])),
    responses((status = 200, body = super::bodies::views::RequestDeliveries), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn by_request(
    _: Admin,
    state: web::Data<AppState>,
    q: web::Query<ByRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId::parse(q.user_id.clone())?;
    let request_id = crate::domain::parse_request_id(q.request_id.clone())?;
    let original = send_requests::find(&state.db, &user, &request_id)
        .await?
        .ok_or_else(|| ApiError::not_found("send with that request id"))?;
    let view = match original.notification_id {
        Some(id) => notifications::get(&state.db, &user, id).await?,
        None => None,
    };
    let rows = deliveries::for_request(&state.db, &user, &request_id).await?;
    let channels: serde_json::Map<String, Value> = original
        .outcomes
        .iter()
        .map(|(c, o)| (c.as_str().to_string(), json!(o.as_str())))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "notification_id": original.notification_id,
        "notification": view,
        "read_at": view.as_ref().and_then(|v| v.read_at),
        "channels": channels,
        "items": with_attempts(&state, rows).await?,
    })))
}

#[derive(serde::Deserialize)]
pub struct UnsubscribeParams {
    pub u: String,
    pub c: String,
    pub s: String,
}

/// Link scanners fetch links; only the POST (the one-click request) changes anything.
pub async fn unsubscribe_page(q: web::Query<UnsubscribeParams>) -> HttpResponse {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let action = format!(
        "?u={}&c={}&s={}",
        urlencoding::encode(&q.u),
        urlencoding::encode(&q.c),
        urlencoding::encode(&q.s)
    );
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><meta charset=utf-8><title>Unsubscribe</title><form method=post action=\"{}\">\
         <p>Stop emails about <strong>{}</strong>?</p><button name=List-Unsubscribe value=One-Click>Unsubscribe</button></form>",
        esc(&action),
        esc(&q.c)
    ))
}

/// RFC 8058 one-click: turns this category's email off for this user.
pub async fn unsubscribe(
    state: web::Data<AppState>,
    q: web::Query<UnsubscribeParams>,
) -> Result<HttpResponse, ApiError> {
    if !state.unsubscribe.verify(&q.u, &q.c, &q.s) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "invalid_signature",
            "this unsubscribe link is not valid",
        ));
    }
    let user = UserId::parse(q.u.clone())?;
    let category = Category::parse(q.c.clone())?;
    let patch = PreferencePatch::parse(
        &json!({"categories": {category.as_str(): {Channel::Email.as_str(): false}}}),
    )?;
    preferences::update(&state.db, &user, &ChangeOrigin::Unsubscribe, |doc| {
        doc.apply(patch.clone())
    })
    .await?;
    tracing::info!(user = %user, category = category.as_str(), "one-click unsubscribe");
    Ok(HttpResponse::Ok().json(json!({"unsubscribed": {"user_id": user.as_str(), "category": category.as_str(), "channel": "email"}})))
}
