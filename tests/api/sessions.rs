//! Server-side sessions: logout ends them, idleness and age expire them,
//! and sign-in rotates the token.

use time::Duration;

use crate::helpers::*;

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gw_session=") && !c.starts_with("gw_session=;"))
        .map(|c| c.split(';').next().unwrap().trim_start_matches("gw_session=").to_string())
}

/// The whole `Set-Cookie` header of the session cookie.
fn raw_session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("gw_session="))
        .expect("a session cookie is set")
}

async fn get_with_session(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    browser().get(app.url(path)).header("Cookie", format!("gw_session={token}")).send().await.unwrap()
}

#[actix_web::test]
async fn session_cookie_is_httponly_and_samesite_lax() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app.login(&browser(), OWNER_EMAIL, PASSWORD).await;
    let raw = raw_session_cookie(&resp);
    assert!(raw.contains("HttpOnly"), "{raw}");
    assert!(raw.contains("SameSite=Lax"), "{raw}");
    assert!(!raw.contains("Secure"), "plain http base URL: no Secure flag ({raw})");
}

#[actix_web::test]
async fn session_cookie_is_secure_when_the_base_url_is_https() {
    let app = spawn_app_with(|s| s.base_url = "https://refer.example.com".into()).await;
    // The forms check Origin against the base URL or the request's host;
    // the test client talks to the local port, which is its own origin.
    app.setup_owner().await;
    let resp = app.login(&browser(), OWNER_EMAIL, PASSWORD).await;
    let raw = raw_session_cookie(&resp);
    assert!(raw.contains("Secure"), "{raw}");
}

#[actix_web::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let client = browser();
    let token = session_cookie(&app.login(&client, OWNER_EMAIL, PASSWORD).await).unwrap();
    assert_eq!(get_with_session(&app, &token, "/admin").await.status(), 200);

    let resp = app.submit(&client, "/admin", "/admin/logout", &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/admin/login");
    // Even a copy of the old cookie no longer opens anything.
    let replay = get_with_session(&app, &token, "/admin").await;
    assert_eq!(replay.status(), 303);
    assert!(location(&replay).starts_with("/admin/login"));
}

#[actix_web::test]
async fn session_expires_after_thirty_idle_minutes() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let token = session_cookie(&app.login(&browser(), OWNER_EMAIL, PASSWORD).await).unwrap();

    app.clock.advance(Duration::minutes(29));
    assert_eq!(get_with_session(&app, &token, "/admin").await.status(), 200, "29 idle minutes are fine");
    // The request above counted as activity: another 29 minutes are fine too.
    app.clock.advance(Duration::minutes(29));
    assert_eq!(get_with_session(&app, &token, "/admin").await.status(), 200);

    app.clock.advance(Duration::minutes(31));
    let resp = get_with_session(&app, &token, "/admin").await;
    assert_eq!(resp.status(), 303, "31 idle minutes end the session");
    assert!(location(&resp).starts_with("/admin/login"));
}

#[actix_web::test]
async fn session_ends_twelve_hours_after_sign_in_however_active() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let token = session_cookie(&app.login(&browser(), OWNER_EMAIL, PASSWORD).await).unwrap();
    for _ in 0..(12 * 3 - 1) {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(get_with_session(&app, &token, "/admin").await.status(), 200);
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(get_with_session(&app, &token, "/admin").await.status(), 303);
}

#[actix_web::test]
async fn sign_in_rotates_the_session_token() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let client = browser();
    let first = session_cookie(&app.login(&client, OWNER_EMAIL, PASSWORD).await).unwrap();
    let second = session_cookie(&app.login(&client, OWNER_EMAIL, PASSWORD).await).unwrap();
    assert_ne!(first, second);
    assert_eq!(get_with_session(&app, &first, "/admin").await.status(), 303, "the old token is ended");
    assert_eq!(get_with_session(&app, &second, "/admin").await.status(), 200);
}

#[actix_web::test]
async fn changing_the_password_ends_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let other = session_cookie(&app.login(&browser(), OWNER_EMAIL, PASSWORD).await).unwrap();
    let resp = app
        .submit(
            &app.client,
            "/admin/account",
            "/admin/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(app.get("/admin").await.status(), 200, "this session continues");
    assert_eq!(get_with_session(&app, &other, "/admin").await.status(), 303, "the other session ended");
    assert_eq!(app.login(&browser(), OWNER_EMAIL, "a brand new passphrase").await.status(), 303);
    assert_eq!(app.login(&browser(), OWNER_EMAIL, PASSWORD).await.status(), 401);
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app
        .submit(
            &app.client,
            "/admin/account",
            "/admin/account/password",
            &[
                ("current_password", "wrong"),
                ("password", "another passphrase"),
                ("password_confirm", "another passphrase"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"current_password-error\""));
}
