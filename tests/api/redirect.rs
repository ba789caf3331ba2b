//! `GET /r/{code}`: the short link records a click off the response path
//! and answers 302 with the attribution cookie.

use time::Duration;

use crate::helpers::*;

#[actix_web::test]
async fn redirect_answers_302_with_the_cookie_and_records_one_click() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({"attribution": {"window_days": 14}})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;

    let resp = visitor().get(app.url(&format!("/r/{code}?c=WhatsApp"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), "/join/acme");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with(&format!("gw_ref={code}.")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains(&format!("Max-Age={}", 14 * 86400)), "{cookie}");

    let rows = clicks(&app).await;
    assert_eq!(rows.len(), 1);
    let click = &rows[0];
    assert_eq!(cookie.split(';').next().unwrap(), format!("gw_ref={code}.{}", click.id));
    assert_eq!(click.id.len(), 16);
    assert_eq!(click.channel.as_deref(), Some("whatsapp"));
    assert_eq!(click.user_agent, BROWSER_UA);
    assert!(!click.is_bot && !click.is_duplicate);
    assert!(!click.ip_hash.is_empty());
    assert!(!click.ip_hash.contains("127.0.0.1"), "the raw IP is never stored");
}

#[actix_web::test]
async fn link_preview_crawler_gets_open_graph_tags_and_no_counted_click() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let resp = browser()
        .get(app.url(&format!("/r/{code}")))
        .header("User-Agent", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none(), "a crawler gets no attribution cookie");
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"<meta property="og:title" content="Acme is better with friends">"#), "{html}");
    assert!(html.contains(r#"<meta property="og:description" content="20% off your first year">"#));
    assert!(html.contains(&format!(r#"<meta property="og:url" content="{}/join/acme">"#, app.address)));
    assert!(html.contains(r#"<meta name="twitter:card""#));
    let rows = clicks(&app).await;
    assert!(rows.iter().all(|c| c.is_bot), "a preview is never a counted click");
}

#[actix_web::test]
async fn a_second_open_within_the_hour_is_stored_and_flagged_duplicate() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let url = app.url(&format!("/r/{code}"));
    visitor().get(&url).send().await.unwrap();
    app.clock.advance(Duration::minutes(59));
    visitor().get(&url).send().await.unwrap();
    app.clock.advance(Duration::minutes(61));
    visitor().get(&url).send().await.unwrap();
    let flags: Vec<bool> = clicks(&app).await.iter().map(|c| c.is_duplicate).collect();
    assert_eq!(flags, vec![false, true, false]);
}

#[actix_web::test]
async fn a_duplicate_is_recognised_after_a_restart() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    let db = app.stop().await;
    let app = spawn_app_on(db, |_| {}).await;
    visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    let flags: Vec<bool> = clicks(&app).await.iter().map(|c| c.is_duplicate).collect();
    assert_eq!(flags, vec![false, true], "the database, not only memory, knows the first click");
}

#[actix_web::test]
async fn unknown_code_gets_a_friendly_404_page() {
    let app = spawn_app().await;
    for path in ["/r/NoSuchCd", "/r/a%2Fb", "/r/x"] {
        let resp = visitor().get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert!(resp.text().await.unwrap().contains("This invitation link does not work"));
    }
}

#[actix_web::test]
async fn disabled_link_and_archived_program_answer_404() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (participant, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let link_id = goodword::services::participants::links_of(&app.state.db, &participant).await.unwrap()[0].id.clone();
    assert_eq!(visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap().status(), 302);

    goodword::services::links::set_disabled(
        &app.state.db,
        &app.state.links,
        "test".into(),
        link_id.clone(),
        true,
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    assert_eq!(visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap().status(), 404);

    goodword::services::links::set_disabled(
        &app.state.db,
        &app.state.links,
        "test".into(),
        link_id,
        false,
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    goodword::services::programs::set_status(
        &app.state.db,
        "test".into(),
        "acme",
        goodword::domain::program::ProgramStatus::Archived,
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    app.state.links.invalidate_program(&program.id);
    assert_eq!(visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap().status(), 404);
}

#[actix_web::test]
async fn queued_clicks_survive_a_graceful_shutdown() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    let mut answered = 0;
    for i in 0..25 {
        let resp = client.get(app.url(&format!("/r/{code}?c=c{i}"))).send().await.unwrap();
        answered += usize::from(resp.status() == 302);
    }
    assert_eq!(answered, 25);
    // Stop at once: no flush was asked for; the shutdown must write them.
    let db = app.stop().await;
    let app = spawn_app_on(db, |_| {}).await;
    assert_eq!(clicks(&app).await.len(), answered);
}

#[actix_web::test]
async fn too_many_opens_from_one_ip_get_429() {
    let app = spawn_app_with(|s| s.redirect_rate_limit = 5).await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, vec![302, 302, 302, 302, 302, 429]);
}

#[actix_web::test]
async fn scripts_are_flagged_as_bots_but_still_redirected() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let resp = browser().get(app.url(&format!("/r/{code}"))).header("User-Agent", "curl/8.4.0").send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(clicks(&app).await[0].is_bot);
}

#[actix_web::test]
async fn other_methods_and_deeper_paths_under_r_are_refused_with_a_page() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let resp = visitor().post(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, HEAD");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    for path in [format!("/r/{code}/more"), "/r/".to_string(), "/r".to_string()] {
        assert_eq!(visitor().get(app.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    let head = visitor().head(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(head.status(), 302);
    assert_eq!(clicks(&app).await.len(), 1, "only the HEAD was a click");
}

#[actix_web::test]
async fn every_short_link_answer_has_the_security_headers_and_is_counted_under_its_route() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;

    let found = visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(found.status(), 302);
    assert_security_headers(&found);
    let unknown = visitor().get(app.url("/r/Zz9Zz9Zz")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_security_headers(&unknown);
    assert!(unknown.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let preview = browser()
        .get(app.url(&format!("/r/{code}")))
        .header("User-Agent", "WhatsApp/2.23.20.0 A")
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_security_headers(&preview);
    let refused = visitor().post(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(refused.status(), 405);
    assert_security_headers(&refused);

    let text = app.get("/metrics").await.text().await.unwrap();
    for (method, status) in [("GET", 302), ("GET", 404), ("GET", 200), ("POST", 405)] {
        let line =
            format!(r#"goodword_http_requests_total{{method="{method}",route="/r/{{code}}",status="{status}"}} 1"#);
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(text.contains(r#"goodword_http_request_duration_seconds_count{route="/r/{code}"} 4"#), "{text}");
}
