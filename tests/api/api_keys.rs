//! API keys: shown once, accepted as bearer tokens, refused once revoked.

use crate::helpers::*;

async fn create_key(app: &TestApp, name: &str) -> String {
    let resp = app.submit(&app.client, "/admin/api-keys", "/admin/api-keys", &[("name", name)]).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    extract(&html, "id=\"new-key\">", "<").expect("the new key is shown")
}

async fn me(app: &TestApp, key: Option<&str>) -> reqwest::Response {
    let mut req = browser().get(app.url("/api/v1/me"));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

async fn assert_unauthorized(resp: reqwest::Response) {
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"));
}

#[actix_web::test]
async fn created_key_is_accepted_and_listed_by_prefix_only() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let key = create_key(&app, "CRM sync").await;
    assert!(key.starts_with("gwk_"));

    let resp = me(&app, Some(&key)).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["key"]["name"], "CRM sync");

    let list = app.get("/admin/api-keys").await.text().await.unwrap();
    assert!(list.contains(&key[..12]), "the prefix is listed");
    assert!(!list.contains(&key), "the whole key is never shown again");
    assert!(!list.contains("id=\"new-key\""));
}

#[actix_web::test]
async fn revoked_key_is_refused() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let key = create_key(&app, "temporary").await;
    let id = goodword::services::api_keys::list(&app.state.db).await.unwrap()[0].id.clone();
    let resp = app.submit(&app.client, "/admin/api-keys", &format!("/admin/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert!(app.get("/admin/api-keys").await.text().await.unwrap().contains("is revoked"));
    assert_unauthorized(me(&app, Some(&key)).await).await;
}

#[actix_web::test]
async fn missing_or_unknown_key_gets_401_in_the_json_error_shape() {
    let app = spawn_app().await;
    assert_unauthorized(me(&app, None).await).await;
    assert_unauthorized(me(&app, Some("gwk_not-a-real-key")).await).await;
    assert_unauthorized(me(&app, Some("something else entirely")).await).await;
}

#[actix_web::test]
async fn key_use_is_recorded_as_last_used() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let key = create_key(&app, "reporting").await;
    assert!(goodword::services::api_keys::list(&app.state.db).await.unwrap()[0].last_used_at.is_none());
    assert_eq!(me(&app, Some(&key)).await.status(), 200);
    assert!(goodword::services::api_keys::list(&app.state.db).await.unwrap()[0].last_used_at.is_some());
}

#[actix_web::test]
async fn key_name_is_required() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app.submit(&app.client, "/admin/api-keys", "/admin/api-keys", &[("name", "   ")]).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"name-error\""));
}
