//! `/p/{token}`: the participant's own page.

use crate::helpers::*;

#[actix_web::test]
async fn portal_shows_link_qr_share_buttons_and_masked_referees() {
    let app = spawn_app().await;
    let program = create_program(
        &app,
        serde_json::json!({
            "share_text": {"default": "Hi, {name} here: {offer} {link}"},
            "rewards": [{"id": "tier", "when": {"won_count": 3}, "to": "referrer", "menu": [{"kind": "custom", "label": "A year free"}]}]
        }),
    )
    .await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let friend = visitor();
    friend.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    app.submit(&friend, "/join/acme", "/join/acme", &[("email", "john.smith@example.com"), ("name", "John Smith")])
        .await;

    let resp = visitor().get(app.url(&format!("/p/{token}"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["referrer-policy"], "same-origin");
    let html = resp.text().await.unwrap();
    let link = format!("{}/r/{code}", app.address);
    assert!(html.contains(&format!("value=\"{link}\"")));
    assert!(html.contains("<svg viewBox=") && html.contains("QR code of your link"));
    assert!(html.contains("https://wa.me/?text=Hi%2C%20Jane%20here%3A%2020%25%20off%20your%20first%20year"), "{html}");
    for expected in [
        "href=\"mailto:?subject=",
        "href=\"sms:?&#38;body=",
        "href=\"https://www.linkedin.com/sharing/",
        "href=\"https://x.com/intent/post?text=",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(html.contains("Jo… S."), "the referee's name is masked");
    assert!(!html.contains("John Smith") && !html.contains("john.smith@example.com"));
    assert!(html.contains("0 of 3"), "tier progress is shown");
}

#[actix_web::test]
async fn an_unknown_portal_token_gets_404() {
    let app = spawn_app().await;
    let resp = visitor().get(app.url(&format!("/p/{}", "x".repeat(43)))).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[actix_web::test]
async fn resetting_the_portal_link_ends_the_old_one() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (id, _, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let new = goodword::services::participants::reset_portal(
        &app.state.db,
        &app.state.keys,
        "t".into(),
        &id,
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    assert_eq!(visitor().get(app.url(&format!("/p/{token}"))).send().await.unwrap().status(), 404);
    assert_eq!(visitor().get(app.url(&format!("/p/{new}"))).send().await.unwrap().status(), 200);
}
