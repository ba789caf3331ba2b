//! First run: every admin page leads to setup, which happens once.

use crate::helpers::*;

#[actix_web::test]
async fn every_admin_page_redirects_to_setup_before_an_owner_exists() {
    let app = spawn_app().await;
    for path in ["/admin", "/admin/login", "/admin/api-keys", "/admin/users"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(location(&resp), "/admin/setup", "{path}");
    }
    assert_eq!(app.get("/admin/setup").await.status(), 200);
}

#[actix_web::test]
async fn setup_creates_the_owner_signs_in_and_then_is_gone() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let dashboard = app.get("/admin").await;
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains(OWNER_EMAIL), "the dashboard names the signed-in owner");

    assert_eq!(app.get("/admin/setup").await.status(), 404);
    let again = browser();
    let resp = app
        .submit(
            &again,
            "/admin/login",
            "/admin/setup",
            &[("email", "second@example.com"), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await;
    assert_eq!(resp.status(), 404, "setup cannot run a second time");
    assert_eq!(get_with(&again, &app.url("/admin/setup")).await.status(), 404);
    assert_eq!(goodword::services::accounts::admin_count(&app.state.db).await.unwrap(), 1);
}

#[actix_web::test]
async fn concurrent_setups_create_exactly_one_owner() {
    let app = spawn_app().await;
    let a = browser();
    let b = browser();
    let form = |email: &'static str| [("email", email), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    let (fa, fb) = (form("a@example.com"), form("b@example.com"));
    let (ra, rb) = tokio::join!(
        app.submit(&a, "/admin/setup", "/admin/setup", &fa),
        app.submit(&b, "/admin/setup", "/admin/setup", &fb),
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 404]);
    assert_eq!(goodword::services::accounts::admin_count(&app.state.db).await.unwrap(), 1);
}

#[actix_web::test]
async fn setup_form_names_each_invalid_field() {
    let app = spawn_app().await;
    let resp = app
        .submit(
            &app.client,
            "/admin/setup",
            "/admin/setup",
            &[("email", "not-an-email"), ("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""), "email error beside the field");
    assert!(html.contains("id=\"password-error\""), "password error beside the field");
    assert!(html.contains("value=\"not-an-email\""), "what was typed is kept");

    let mismatch = app
        .submit(
            &app.client,
            "/admin/setup",
            "/admin/setup",
            &[("email", OWNER_EMAIL), ("password", PASSWORD), ("password_confirm", "something else")],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("the two passwords differ"));
}
