//! What the handler annotations cannot say once per route: every
//! authenticated operation can answer 401/403/429, every body can be refused
//! as 400/413/415/422, and path and query ids have one format server-wide.
//! Applied to the generated document as JSON, so it covers every operation.

use serde_json::{json, Map, Value};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Printable text: what [`crate::domain::has_control`] lets through.
const PRINTABLE: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$";

/// The schema each named path or query parameter really accepts.
fn parameter_schema(name: &str) -> Option<Value> {
    Some(match name {
        "user_id" => json!({"type": "string", "minLength": 1, "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:@+|=-]+$",
            "description": "1-128 letters, digits and - _ . : @ + | =; not only dots"}),
        "id" => json!({"type": "string", "format": "uuid"}),
        "code" => json!({"type": "string", "minLength": 1, "maxLength": 128,
            "pattern": "^[A-Za-z0-9_.-]+$"}),
        "token" => json!({"type": "string", "minLength": 1, "maxLength": 4096,
            "pattern": "^[!-~]+$", "description": "printable ASCII without spaces"}),
        "event_id" | "request_id" => json!({"type": "string", "minLength": 1, "maxLength": 255,
            "pattern": PRINTABLE}),
        _ => return None,
    })
}

fn error(description: &str) -> Value {
    json!({"description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

/// Adds the responses and parameter formats every operation shares.
pub fn refine(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(Value::Object(op)) = item.get_mut(method) {
                refine_operation(op);
            }
        }
    }
}

fn schemes(op: &Map<String, Value>) -> Vec<String> {
    op.get("security")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .flat_map(|r| r.keys().cloned())
                .collect()
        })
        .unwrap_or_default()
}

fn refine_operation(op: &mut Map<String, Value>) {
    let schemes = schemes(op);
    let mut added: Vec<(&str, Value)> = vec![];
    if !schemes.is_empty() {
        added.push((
            "401",
            error("`unauthorized`: missing or invalid credentials; `token_expired`"),
        ));
        added.push((
            "429",
            error("`rate_limited`: too many requests; see `Retry-After`"),
        ));
    }
    if schemes.iter().any(|s| s == "api_key") {
        added.push(("403", error("`forbidden`: the API key lacks the scope")));
    }
    if op.contains_key("requestBody") {
        added.push(("400", error("`invalid_json`: the body is not JSON")));
        added.push((
            "413",
            error("`payload_too_large`: the body exceeds `http.max_body_bytes`"),
        ));
        added.push((
            "415",
            error("`unsupported_media_type`: send `application/json`"),
        ));
        added.push(("422", error(
            "`invalid_body` (not a JSON object, unknown or mistyped field), `nul_byte` (U+0000 in a string), \
             or a field-specific code such as `invalid_field`, `invalid_user_id`")));
    }
    let mut has_path = false;
    let mut has_query = false;
    if let Some(Value::Array(params)) = op.get_mut("parameters") {
        for p in params.iter_mut().filter_map(Value::as_object_mut) {
            let place = p.get("in").and_then(Value::as_str).unwrap_or_default();
            has_path |= place == "path";
            has_query |= place == "query";
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            if let (true, Some(schema)) =
                (matches!(place, "path" | "query"), parameter_schema(name))
            {
                p.insert("schema".into(), schema);
            }
        }
    }
    if has_path {
        added.push((
            "400",
            error("`invalid_path`: a path segment could not be read"),
        ));
        added.push(("404", error("`not_found`")));
        added.push(("422", error(
            "`control_character` in a path id, or an id in the wrong format (`invalid_id`, `invalid_user_id`, …)")));
    }
    if has_query {
        added.push((
            "400",
            error("`invalid_query`: a query parameter is missing or mistyped"),
        ));
        added.push(("422", error("a query value in the wrong format")));
    }
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    if let Some(responses) = responses.as_object_mut() {
        for (status, response) in added {
            responses.entry(status).or_insert(response);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authenticated_body_operation_declares_the_shared_errors() {
        let mut doc = json!({"paths": {"/x/{user_id}": {"put": {
            "security": [{"api_key": []}], "requestBody": {},
            "parameters": [{"name": "user_id", "in": "path", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}}});
        refine(&mut doc);
        let op = &doc["paths"]["/x/{user_id}"]["put"];
        for status in [
            "200", "400", "401", "403", "404", "413", "415", "422", "429",
        ] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
        assert_eq!(op["parameters"][0]["schema"]["maxLength"], 128);
    }

    #[test]
    fn an_open_operation_gains_no_auth_errors() {
        let mut doc =
            json!({"paths": {"/health": {"get": {"responses": {"200": {"description": "ok"}}}}}});
        refine(&mut doc);
        assert!(doc["paths"]["/health"]["get"]["responses"]["401"].is_null());
    }
}
