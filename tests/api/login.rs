//! Sign-in: right and wrong passwords, throttling per account and per IP.

use goodword::domain::Role;

use crate::helpers::*;

#[actix_web::test]
async fn right_password_signs_in_and_wrong_password_does_not() {
    let app = spawn_app().await;
    app.setup_owner().await;

    let stranger = browser();
    let wrong = app.login(&stranger, OWNER_EMAIL, "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("do not match an account"));
    assert_eq!(location(&get_with(&stranger, &app.url("/admin")).await), "/admin/login?next=%2Fadmin");

    let right = app.login(&stranger, OWNER_EMAIL, PASSWORD).await;
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), "/admin");
    assert_eq!(get_with(&stranger, &app.url("/admin")).await.status(), 200);
}

#[actix_web::test]
async fn unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let unknown = app.login(&browser(), "nobody@example.com", PASSWORD).await;
    let wrong = app.login(&browser(), OWNER_EMAIL, "wrong password").await;
    assert_eq!(unknown.status(), wrong.status());
    let (a, b) = (unknown.text().await.unwrap(), wrong.text().await.unwrap());
    let message = |html: &str| extract(html, "class=\"form-error\" role=\"alert\">", "<").unwrap();
    assert_eq!(message(&a), message(&b));
}

#[actix_web::test]
async fn sign_in_returns_to_the_page_asked_for_but_never_off_site() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let client = browser();
    let resp = app
        .submit(
            &client,
            "/admin/login",
            "/admin/login",
            &[("email", OWNER_EMAIL), ("password", PASSWORD), ("next", "/admin/api-keys")],
        )
        .await;
    assert_eq!(location(&resp), "/admin/api-keys");
    let resp = app
        .submit(
            &browser(),
            "/admin/login",
            "/admin/login",
            &[("email", OWNER_EMAIL), ("password", PASSWORD), ("next", "//evil.example/admin")],
        )
        .await;
    assert_eq!(location(&resp), "/admin");
}

#[actix_web::test]
async fn eleventh_failure_gets_429_while_another_account_still_signs_in() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("other@example.com", Role::Marketer).await;
    let attacker = browser();
    for i in 1..=10 {
        let resp = app.login(&attacker, OWNER_EMAIL, "guess").await;
        assert_eq!(resp.status(), 401, "failure {i} is a plain refusal");
    }
    let eleventh = app.login(&attacker, OWNER_EMAIL, "guess").await;
    assert_eq!(eleventh.status(), 429);
    let retry_after: u64 = eleventh.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "Retry-After {retry_after}");

    // Locked means locked: the right password does not get through either.
    assert_eq!(app.login(&browser(), OWNER_EMAIL, PASSWORD).await.status(), 429);
    // Other accounts are unaffected.
    assert_eq!(app.login(&browser(), "other@example.com", PASSWORD).await.status(), 303);
}

#[actix_web::test]
async fn thirty_first_attempt_from_one_ip_in_a_minute_gets_429() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let client = browser();
    let page = get_with(&client, &app.url("/admin/login")).await.text().await.unwrap();
    let token = csrf_in(&page);
    // All at once, as a script would: the budget refills one attempt every
    // two seconds, so sequential slow attempts would earn new ones.
    let attempts = (0..31).map(|i| {
        let email = format!("user{i}@example.com");
        let req = client.post(app.url("/admin/login")).header("Origin", &app.address).form(&[
            ("csrf_token", token.as_str()),
            ("email", &email),
            ("password", "x"),
        ]);
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 30, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
