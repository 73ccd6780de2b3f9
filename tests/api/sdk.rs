//! The browser SDK is the `@herald/client` package's own files: served byte
//! for byte from `sdk/js/src/`, with no second copy under `static/`.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use std::path::{Path, PathBuf};

fn package_sources() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk/js/src");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("sdk/js/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("read an SDK source"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 7, "the package's sources: {files:?}");
    files
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("get")
}

async fn assert_serves(app: &TestApp, path: &str, want: &[u8]) {
    let res = get(app, path).await;
    assert_eq!(res.status(), 200, "{path}");
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(kind, Some("text/javascript; charset=utf-8"), "{path}");
    let body = res.bytes().await.expect("body");
    assert!(body == want, "{path} differs from the package's file");
}

async fn every_file_of_the_sdk_package_is_served_byte_for_byte(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    for (name, bytes) in package_sources() {
        assert_serves(&app, &format!("/static/{name}"), &bytes).await;
    }
    let (_, worker) = package_sources()
        .into_iter()
        .find(|(name, _)| name == "herald-sw.js")
        .expect("the service worker is in the package");
    assert_serves(&app, "/herald-sw.js", &worker).await;
}

async fn the_sdk_is_served_even_when_there_is_no_static_dir(backend: Backend) {
    let missing = PathBuf::from("/nonexistent/herald-static");
    let Some(app) = spawn_app_with(backend, |s| s.static_dir = missing).await else {
        return;
    };
    assert_eq!(get(&app, "/static/herald.js").await.status(), 200);
    assert_eq!(get(&app, "/herald-sw.js").await.status(), 200);
    assert_eq!(get(&app, "/static/inbox.js").await.status(), 404);
    assert_eq!(get(&app, "/").await.status(), 404);
}

async fn a_browser_holding_the_current_sdk_gets_304_and_a_stale_one_gets_the_file(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let first = get(&app, "/static/herald-store.js").await;
    assert_eq!(
        first
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
    let etag = first.headers().get("etag").cloned().expect("an etag");
    let again = app
        .client
        .get(app.url("/static/herald-store.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    let stale = app
        .client
        .get(app.url("/static/herald-store.js"))
        .header("if-none-match", "\"an-older-sdk\"")
        .send()
        .await
        .expect("get");
    assert_eq!(stale.status(), 200);
}

#[test]
fn the_static_dir_holds_no_second_copy_of_the_sdk() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    for (name, _) in package_sources() {
        assert!(
            !dir.join(&name).exists(),
            "static/{name} would shadow nothing and drift: keep it in sdk/js/src only"
        );
    }
}

on_both!(
    every_file_of_the_sdk_package_is_served_byte_for_byte,
    the_sdk_is_served_even_when_there_is_no_static_dir,
    a_browser_holding_the_current_sdk_gets_304_and_a_stale_one_gets_the_file
);
