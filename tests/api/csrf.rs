//! Every POST form needs its CSRF token and a same-site Origin.

use crate::helpers::*;

#[actix_web::test]
async fn post_without_csrf_token_is_forbidden() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("Origin", &app.address)
        .form(&[("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(goodword::services::api_keys::list(&app.state.db).await.unwrap().is_empty());
}

#[actix_web::test]
async fn post_with_a_token_from_another_browser_is_forbidden() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let other = browser();
    let foreign = csrf_in(&get_with(&other, &app.url("/admin/login")).await.text().await.unwrap());
    let resp = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("Origin", &app.address)
        .form(&[("csrf_token", foreign.as_str()), ("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[actix_web::test]
async fn post_from_another_origin_or_without_origin_is_forbidden() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let token = csrf_in(&app.get("/admin/api-keys").await.text().await.unwrap());
    let cross = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let none = app
        .client
        .post(app.url("/admin/api-keys"))
        .form(&[("csrf_token", token.as_str()), ("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 403);
    let good = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("Referer", app.url("/admin/api-keys"))
        .form(&[("csrf_token", token.as_str()), ("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 201, "a same-site Referer stands in for a missing Origin");
}

#[actix_web::test]
async fn login_form_needs_its_token_too() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = browser()
        .post(app.url("/admin/login"))
        .header("Origin", &app.address)
        .form(&[("email", OWNER_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}
