//! `/join/{program}`: who invited you, the offer, and a claim that creates
//! the lead and continues to the destination — never anywhere else.

use crate::helpers::*;

async fn open_link(app: &TestApp, client: &reqwest::Client, code: &str) {
    let resp = client.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
}

async fn claim(app: &TestApp, client: &reqwest::Client, email: &str, name: &str) -> reqwest::Response {
    app.submit(client, "/join/acme", "/join/acme", &[("email", email), ("name", name)]).await
}

#[actix_web::test]
async fn landing_page_names_the_inviter_by_first_name_and_shows_the_offer() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    open_link(&app, &client, &code).await;
    let resp = client.get(app.url("/join/acme")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("form-action 'self' https://acme.example"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("Jane invited you."));
    assert!(!html.contains("Doe"), "only the first name is shown");
    assert!(html.contains("20% off your first year"));
    assert!(html.contains("Claim your invitation"));
}

#[actix_web::test]
async fn claim_creates_a_lead_and_redirects_with_both_parameters() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (participant, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    open_link(&app, &client, &code).await;
    let resp = claim(&app, &client, "  Bob.Smith+promo@GoogleMail.com ", "Bob Smith").await;
    assert_eq!(resp.status(), 303);
    let click_id = clicks(&app).await[0].id.clone();
    assert_eq!(location(&resp), format!("https://acme.example/signup?plan=pro&gw_ref={code}&gw_click={click_id}"));
    let referrals = goodword::services::referrals::for_participant(&app.state.db, &participant).await.unwrap();
    assert_eq!(referrals.len(), 1);
    let r = &referrals[0];
    assert_eq!(r.stage, "lead");
    assert_eq!(r.referee_email_normalized.as_deref(), Some("bobsmith@gmail.com"));
    assert_eq!(r.click_id.as_deref(), Some(click_id.as_str()));
    assert_eq!(r.code, code);
    assert!(r.lead_at.is_some());
}

#[actix_web::test]
async fn a_referee_is_attributed_once() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (max, max_code, _) = enrol(&app, &program, "max@example.com", "Max Roe").await;
    let client = visitor();
    open_link(&app, &client, &jane_code).await;
    assert_eq!(claim(&app, &client, "bob@example.com", "Bob").await.status(), 303);
    open_link(&app, &client, &max_code).await;
    assert_eq!(claim(&app, &client, "BOB@example.com", "Bob").await.status(), 303, "still sent on");
    assert_eq!(goodword::services::referrals::for_participant(&app.state.db, &jane).await.unwrap().len(), 1);
    assert!(goodword::services::referrals::for_participant(&app.state.db, &max).await.unwrap().is_empty());
}

#[actix_web::test]
async fn a_participant_cannot_refer_themselves() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (jane, code, _) = enrol(&app, &program, "jane.doe@gmail.com", "Jane Doe").await;
    let client = visitor();
    open_link(&app, &client, &code).await;
    let resp = claim(&app, &client, "JaneDoe+again@googlemail.com", "Jane").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("This is your own invitation"));
    // Kept as data: rejected, with words for the portal that name no check.
    let kept = goodword::services::referrals::for_participant(&app.state.db, &jane).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].stage.as_str(), kept[0].review.as_str()), ("rejected", "rejected"));
    assert_eq!(kept[0].review_reason.as_deref(), Some(goodword::domain::review::ALREADY_HAD_ACCOUNT));
    // A second try gets the same friendly page, not a redirect.
    let again = claim(&app, &client, "jane.doe@gmail.com", "Jane").await;
    assert_eq!(again.status(), 200);
}

#[actix_web::test]
async fn claim_errors_are_shown_beside_the_field() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    open_link(&app, &client, &code).await;
    let resp = claim(&app, &client, "not an email", "Bob").await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""));
    assert!(html.contains("value=\"not an email\""));
}

#[actix_web::test]
async fn a_claim_without_a_link_is_not_attributed() {
    let app = spawn_app().await;
    create_program(&app, serde_json::json!({})).await;
    let client = visitor();
    let page = client.get(app.url("/join/acme")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Claim your invitation"), "no form without an invitation");
    // The page has no form; a forged post (with a valid token from another
    // page of this browser) still creates nothing.
    let resp = app.submit(&client, "/admin/setup", "/join/acme", &[("email", "bob@example.com")]).await;
    assert_eq!(resp.status(), 422);
}

#[actix_web::test]
async fn open_redirect_attempts_are_refused_when_the_program_is_saved() {
    let app = spawn_app().await;
    let key =
        goodword::services::api_keys::create(&app.state.db, "test".into(), None, "t".into(), app.state.clock.now_utc())
            .await
            .unwrap()
            .0;
    for destination in [
        "//evil.example/signup",
        "/\\evil.example",
        "https:evil.example",
        "https://evil.example/signup",
        "https://acme.example@evil.example/",
        "https://acme.example%2F@evil.example/",
        "javascript:alert(1)",
        "https://acme.example.evil.example/",
    ] {
        let resp = browser()
            .put(app.url("/api/v1/programs/acme"))
            .bearer_auth(&key)
            .json(
                &serde_json::json!({"name": "Acme", "destination_url": destination, "allowed_hosts": ["acme.example"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{destination}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "destination_url", "{destination}");
    }
}

#[actix_web::test]
async fn a_paused_program_takes_no_new_referrals() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    open_link(&app, &client, &code).await;
    goodword::services::programs::set_status(
        &app.state.db,
        "t".into(),
        "acme",
        goodword::domain::program::ProgramStatus::Paused,
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    app.state.links.invalidate_program(&program.id);
    let page = client.get(app.url("/join/acme")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("not taking new referrals"));
    let resp = app.submit(&client, "/admin/setup", "/join/acme", &[("email", "bob@example.com")]).await;
    assert_eq!(resp.status(), 200);
    assert!(goodword::services::referrals::for_participant(&app.state.db, &jane).await.unwrap().is_empty());
}
