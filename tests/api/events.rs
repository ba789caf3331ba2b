//! `POST /api/v1/events`: attribution by click id, code or the referee's
//! referral; stages that only move forward; refunds; idempotency by event
//! id; every validation error answered 4xx with the field named.

use serde_json::{Value, json};

use crate::helpers::*;

async fn key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "crm".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

async fn post(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Opens `code`'s link as a new visitor; returns the click id its cookie holds.
async fn click_through(app: &TestApp, client: &reqwest::Client, code: &str) -> String {
    let resp = client.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let value = cookie.split(';').next().unwrap().trim_start_matches("gw_ref=").to_string();
    let (_, click) = value.split_once('.').unwrap();
    click.to_string()
}

async fn referral(app: &TestApp, id: &str) -> goodword::storage::referrals::ReferralRow {
    let id = id.to_string();
    app.state.db.run(move |c| goodword::storage::referrals::find(c, &id)).await.unwrap().expect("the referral exists")
}

#[actix_web::test]
async fn a_click_id_attributes_the_referee_to_the_participant_who_shared() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let click = click_through(&app, &visitor(), &code).await;
    app.state.clicks.flush().await;

    let (status, body) = post(
        &app,
        &key,
        json!({"id": "e1", "type": "qualified", "program": "acme", "click_id": click,
               "referee": {"email": "bob@example.org", "name": "Bob"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["attributed"].as_bool(), body["stage"].as_str(), body["duplicate"].as_bool()),
        (Some(true), Some("qualified"), Some(false))
    );
    let row = referral(&app, body["referral_id"].as_str().unwrap()).await;
    assert_eq!((row.participant_id.as_str(), row.click_id.as_deref()), (jane.as_str(), Some(click.as_str())));
    assert!(row.qualified_at.is_some() && row.lead_at.is_none(), "the skipped stage stays empty");
}

#[actix_web::test]
async fn the_gw_ref_cookie_value_passed_as_code_attributes_with_its_click() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let click = click_through(&app, &visitor(), &code).await;
    app.state.clicks.flush().await;

    // What a business's site read from the browser's `gw_ref` cookie.
    let cookie = format!("{code}.{click}");
    let (status, body) = post(
        &app,
        &key,
        json!({"id": "e1", "type": "lead", "program": "acme", "code": cookie, "referee": {"external_id": "crm-9"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attributed"].as_bool(), Some(true), "{body}");
    let row = referral(&app, body["referral_id"].as_str().unwrap()).await;
    assert_eq!((row.participant_id.as_str(), row.click_id.as_deref()), (jane.as_str(), Some(click.as_str())));
    assert_eq!(row.code, code);
}

#[actix_web::test]
async fn a_code_attributes_when_there_is_no_click_and_the_referee_is_attributed_once() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (_, ann_code, _) = enrol(&app, &program, "ann@example.com", "Ann Lee").await;
    let (_, first) = post(
        &app,
        &key,
        json!({"id": "e1", "type": "lead", "program": "acme", "code": jane_code, "referee": {"external_id": "crm-7"}}),
    )
    .await;
    assert_eq!(first["attributed"], true);
    // Later events carry Ann's code: the referee stays Jane's.
    let (_, won) = post(&app, &key, json!({"id": "e2", "type": "won", "program": "acme", "code": ann_code, "referee": {"external_id": "crm-7"}, "amount": 9900, "currency": "EUR"})).await;
    assert_eq!((won["referral_id"].clone(), won["stage"].as_str()), (first["referral_id"].clone(), Some("won")));
    assert_eq!(referral(&app, first["referral_id"].as_str().unwrap()).await.participant_id, jane);
}

#[actix_web::test]
async fn events_for_a_claimed_lead_find_it_by_the_referees_email() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    click_through(&app, &client, &code).await;
    let resp =
        app.submit(&client, "/join/acme", "/join/acme", &[("email", "Bob.Smith@gmail.com"), ("name", "Bob")]).await;
    assert_eq!(resp.status(), 303);
    let (_, body) = post(
        &app,
        &key,
        json!({"id": "w1", "type": "won", "program": "acme", "referee": {"email": "bobsmith+x@googlemail.com"}}),
    )
    .await;
    assert_eq!((body["attributed"].as_bool(), body["stage"].as_str()), (Some(true), Some("won")));
    let row = referral(&app, body["referral_id"].as_str().unwrap()).await;
    assert!(row.lead_at.is_some() && row.won_at.is_some() && row.qualified_at.is_none());
}

#[actix_web::test]
async fn a_click_older_than_the_window_does_not_attribute() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({"attribution": {"window_days": 7}})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let click = click_through(&app, &visitor(), &code).await;
    app.state.clicks.flush().await;
    app.clock.advance(time::Duration::days(8));
    let (status, body) = post(&app, &key, json!({"id": "late", "type": "lead", "program": "acme", "click_id": click, "referee": {"email": "bob@example.org"}})).await;
    assert_eq!(status, 200);
    assert_eq!((body["attributed"].as_bool(), &body["referral_id"]), (Some(false), &Value::Null));
    // Stored all the same: the same id again is a duplicate.
    let (_, again) = post(&app, &key, json!({"id": "late", "type": "lead", "program": "acme", "click_id": click, "referee": {"email": "bob@example.org"}})).await;
    assert_eq!((again["attributed"].as_bool(), again["duplicate"].as_bool()), (Some(false), Some(true)));
}

#[actix_web::test]
async fn an_earlier_stage_changes_nothing_and_a_refund_ends_a_won_referral() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let referee = json!({"email": "bob@example.org"});
    let (_, won) =
        post(&app, &key, json!({"id": "a", "type": "won", "program": "acme", "code": code, "referee": referee})).await;
    let (_, late) =
        post(&app, &key, json!({"id": "b", "type": "qualified", "program": "acme", "referee": referee})).await;
    assert_eq!((late["stage"].as_str(), late["referral_id"].clone()), (Some("won"), won["referral_id"].clone()));
    let (_, refund) =
        post(&app, &key, json!({"id": "c", "type": "refund", "program": "acme", "referee": referee})).await;
    assert_eq!(refund["stage"], "refunded");
    let (_, after) = post(&app, &key, json!({"id": "d", "type": "won", "program": "acme", "referee": referee})).await;
    assert_eq!(after["stage"], "refunded", "a refunded referral stays refunded");

    let id = won["referral_id"].as_str().unwrap().to_string();
    let timeline = app.state.db.run(move |c| goodword::storage::conversion_events::for_referral(c, &id)).await.unwrap();
    let outcomes: Vec<&str> = timeline.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes.len(), 4, "every event is on the timeline: {outcomes:?}");
    assert!(outcomes[1].starts_with("recorded, nothing changed"), "{outcomes:?}");
    assert_eq!(outcomes[2], "refunded");
}

#[actix_web::test]
async fn a_participant_reported_as_their_own_referee_is_kept_as_rejected() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (_, body) = post(
        &app,
        &key,
        json!({"id": "s", "type": "won", "program": "acme", "code": code, "referee": {"email": "JANE@example.com"}}),
    )
    .await;
    assert_eq!((body["attributed"].as_bool(), body["stage"].as_str()), (Some(true), Some("rejected")), "{body}");
    let row = referral(&app, body["referral_id"].as_str().unwrap()).await;
    assert_eq!(row.review, "rejected");
}

#[actix_web::test]
async fn the_same_id_with_the_same_body_is_a_duplicate_and_with_another_body_a_422() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let event = json!({"id": "once", "type": "won", "program": "acme", "code": code, "referee": {"email": "bob@example.org", "name": "Bob"}});
    let (_, first) = post(&app, &key, event.clone()).await;
    let reordered: Value = serde_json::from_str(&format!(
        r#"{{"referee": {{"name": "Bob", "email": "bob@example.org"}}, "code": "{code}", "program": "acme", "type": "won", "id": "once"}}"#
    ))
    .unwrap();
    let (status, again) = post(&app, &key, reordered).await;
    assert_eq!(status, 200);
    assert_eq!(
        (again["duplicate"].as_bool(), again["referral_id"].clone()),
        (Some(true), first["referral_id"].clone())
    );
    let (status, body) = post(
        &app,
        &key,
        json!({"id": "once", "type": "refund", "program": "acme", "referee": {"email": "bob@example.org"}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "id");
}

#[actix_web::test]
async fn fifty_concurrent_posts_of_one_event_leave_one_event_and_one_referral() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let event =
        json!({"id": "burst", "type": "won", "program": "acme", "code": code, "referee": {"email": "bob@example.org"}});
    let answers = futures_util::future::join_all((0..50).map(|_| post(&app, &key, event.clone()))).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    assert_eq!(answers.iter().filter(|(_, b)| b["duplicate"] == false).count(), 1);
    let ids: std::collections::HashSet<String> =
        answers.iter().map(|(_, b)| b["referral_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    let events = app.state.db.run(move |c| goodword::storage::conversion_events::for_referral(c, &id)).await.unwrap();
    assert_eq!(events.len(), 1);
}

#[actix_web::test]
async fn every_invalid_body_gets_a_4xx_that_names_the_problem() {
    let app = spawn_app().await;
    let key = key(&app).await;
    create_program(&app, json!({})).await;
    let base = json!({"id": "v", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("colour", json!("red")), "colour"),
        (with("amount", json!(12.5)), "amount"),
        (with("amount", json!(1_000_000_000_001i64)), "amount"),
        (with("currency", json!("EURO")), "currency"),
        (with("type", json!("paid")), "type"),
        (with("occurred_at", json!("2099-01-01T00:00:00Z")), "occurred_at"),
        (with("program", json!("nope")), "program"),
        (with("referee", json!({"email": "bob@example.org", "phone": "1"})), "referee.phone"),
    ] {
        let (status, answer) = post(&app, &key, body).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert_eq!(answer["error"]["fields"][0]["field"], field, "{answer}");
    }
    let text = browser()
        .post(app.url("/api/v1/events"))
        .bearer_auth(&key)
        .body("id=1")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let huge = json!({"id": "x".repeat(70_000), "type": "won", "program": "acme"});
    assert_eq!(post(&app, &key, huge).await.0, 413);
    let resp = browser().post(app.url("/api/v1/events")).json(&base).send().await.unwrap();
    assert_eq!(resp.status(), 401, "an API key is required");
}

/// Opens Jane's link, then Ann's, in one browser, claims on the landing
/// page (which reads the browser's `gw_ref` cookie) and posts `won`;
/// returns who got the referral, then Jane's and Ann's ids.
async fn winner_after_two_links(model: &str) -> (String, String, String) {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({"attribution": {"window_days": 30, "model": model}})).await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (ann, ann_code, _) = enrol(&app, &program, "ann@example.com", "Ann Lee").await;
    let browser = visitor();
    for code in [&jane_code, &ann_code] {
        assert_eq!(browser.get(app.url(&format!("/r/{code}"))).send().await.unwrap().status(), 302);
    }
    assert_eq!(clicks(&app).await.len(), 2, "both opens are clicks whatever the model");
    let claim =
        app.submit(&browser, "/join/acme", "/join/acme", &[("email", "bob@example.org"), ("name", "Bob")]).await;
    assert_eq!(claim.status(), 303);
    let (_, won) =
        post(&app, &key, json!({"id": "w", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}}))
            .await;
    let row = referral(&app, won["referral_id"].as_str().unwrap()).await;
    (row.participant_id, jane, ann)
}

#[actix_web::test]
async fn the_last_click_wins_by_default_and_the_first_when_the_program_says_so() {
    let (winner, _jane, ann) = winner_after_two_links("last_click").await;
    assert_eq!(winner, ann);
    let (winner, jane, _ann) = winner_after_two_links("first_click").await;
    assert_eq!(winner, jane);
}

async fn get(app: &TestApp, key: &str, query: &str) -> (u16, Value) {
    let resp = app.client.get(app.url(&format!("/api/v1/referrals{query}"))).bearer_auth(key).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[actix_web::test]
async fn referrals_are_listed_a_page_at_a_time_in_a_stable_order_with_filters() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let start = app.state.clock.now();
    for i in 0..5 {
        let kind = if i % 2 == 0 { "won" } else { "lead" };
        let (_, body) = post(&app, &key, json!({"id": format!("e{i}"), "type": kind, "program": "acme", "code": code, "referee": {"external_id": format!("crm-{i}")}})).await;
        assert_eq!(body["attributed"], true);
        // crm-1 and crm-2 share a creation time: the id breaks the tie.
        if i != 1 {
            app.clock.advance(time::Duration::seconds(1));
        }
    }
    let mut seen = Vec::new();
    let mut query = "?program=acme&limit=2".to_string();
    loop {
        let (status, page) = get(&app, &key, &query).await;
        assert_eq!(status, 200, "{page}");
        for r in page["data"].as_array().unwrap() {
            seen.push(r["referee"]["external_id"].as_str().unwrap().to_string());
            assert_eq!(r["program"], "acme");
        }
        match page["next"].as_str() {
            Some(next) => query = format!("?program=acme&limit=2&cursor={next}"),
            None => break,
        }
    }
    // crm-1 and crm-2 share a creation time; their ids order them.
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!((seen[0].as_str(), seen[3].as_str(), seen[4].as_str()), ("crm-0", "crm-3", "crm-4"));
    let mut middle = vec![seen[1].as_str(), seen[2].as_str()];
    middle.sort_unstable();
    assert_eq!(middle, ["crm-1", "crm-2"]);

    let (_, won) = get(&app, &key, "?stage=won").await;
    assert_eq!(won["data"].as_array().unwrap().len(), 3);
    assert!(won["data"][0]["won_at"].is_string() && won["data"][0]["lead_at"].is_null());
    let since =
        (start + time::Duration::milliseconds(1500)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (_, recent) = get(&app, &key, &format!("?since={}", since.replace('+', "%2B"))).await;
    assert_eq!(recent["data"].as_array().unwrap().len(), 2, "crm-3 and crm-4: {recent}");

    let (status, bad) = get(&app, &key, "?stage=paid&limit=0&cursor=zzz&program=nope&since=today").await;
    assert_eq!(status, 422);
    let fields: Vec<&str> =
        bad["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["program", "stage", "since", "cursor", "limit"]);
}

#[actix_web::test]
async fn concurrent_events_committed_in_groups_are_each_answered_and_stored_once() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let posts = (0..60).map(|i| {
        // Every sixth reuses an id with other content: refused, alone.
        let id = if i % 6 == 5 { format!("g{}", i - 1) } else { format!("g{i}") };
        post(&app, &key, json!({"id": id, "type": "lead", "program": "acme", "code": code, "referee": {"external_id": format!("r{i}")}}))
    });
    let answers = futures_util::future::join_all(posts).await;
    let refused = answers.iter().filter(|(status, _)| *status == 422).count();
    let recorded = answers.iter().filter(|(status, b)| *status == 200 && b["duplicate"] == false).count();
    assert_eq!((refused + recorded, answers.len()), (60, 60), "{answers:?}");
    assert_eq!(recorded, 50);
    let (_, page) = browser()
        .get(app.url("/api/v1/referrals?limit=500"))
        .bearer_auth(&key)
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 50);
}

#[actix_web::test]
async fn the_admin_lists_referrals_and_shows_a_timeline_with_what_each_event_did() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let admin = app.signed_in(OWNER_EMAIL).await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let browser = visitor();
    browser.get(app.url(&format!("/r/{code}?c=whatsapp"))).send().await.unwrap();
    app.submit(&browser, "/join/acme", "/join/acme", &[("email", "bob@example.org"), ("name", "Bob Stone")]).await;
    app.state.clicks.flush().await;
    let referee = json!({"email": "bob@example.org"});
    let (_, won) = post(&app, &key, json!({"id": "deal-1", "type": "won", "program": "acme", "referee": referee, "amount": 49900, "currency": "EUR"})).await;
    post(&app, &key, json!({"id": "late-q", "type": "qualified", "program": "acme", "referee": referee})).await;

    let list = get_with(&admin, &app.url("/admin/referrals?program=acme&stage=won")).await.text().await.unwrap();
    assert!(list.contains("Bob Stone"), "{list}");
    let none = get_with(&admin, &app.url("/admin/referrals?stage=refunded")).await.text().await.unwrap();
    assert!(!none.contains("Bob Stone") && none.contains("No referrals match these filters"));

    let id = won["referral_id"].as_str().unwrap();
    let page = get_with(&admin, &app.url(&format!("/admin/referrals/{id}"))).await.text().await.unwrap();
    for expected in [
        "Opened the link",
        "through whatsapp",
        "Became a lead",
        "deal-1",
        "moved to won",
        "499.00 EUR",
        "late-q",
        "recorded, nothing changed: an earlier stage",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert_eq!(get_with(&admin, &app.url("/admin/referrals/nope")).await.status(), 404);
}

#[actix_web::test]
async fn the_program_page_draws_the_funnel_and_the_portal_a_step_indicator() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({})).await;
    let (_, code, portal) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    for _ in 0..4 {
        visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap();
        // One counted click per visitor and hour: the next open is a new one.
        app.clock.advance(time::Duration::minutes(61));
    }
    app.state.clicks.flush().await;
    for (i, kind) in ["lead", "lead", "qualified", "won"].iter().enumerate() {
        let (status, _) = post(&app, &key, json!({"id": format!("f{i}"), "type": kind, "program": "acme", "code": code, "referee": {"external_id": format!("r{i}"), "name": format!("Friend{i} Smith")}})).await;
        assert_eq!(status, 200);
    }
    // Signed in now: the clock moved past an idle session's end.
    let admin = app.signed_in(OWNER_EMAIL).await;
    let page = get_with(&admin, &app.url("/admin/programs/acme")).await.text().await.unwrap();
    for (count, label) in [(4, "clicks"), (4, "leads"), (2, "qualified"), (1, "opportunities"), (1, "won")] {
        let step = format!("<span class=\"funnel__count\">{count}</span> {label}");
        assert!(page.contains(&step), "{step} in {page}");
    }
    assert!(page.contains("(100% of the step before)") && page.contains("(50% of the step before)"));

    let portal = visitor().get(app.url(&format!("/p/{portal}"))).send().await.unwrap().text().await.unwrap();
    assert!(portal.contains("aria-label=\"Progress: Became a customer\""), "{portal}");
    assert!(portal.contains("steps__item steps__item--done\" aria-current=\"step\">Became a customer"));
    assert!(!portal.contains("Friend3 Smith"), "names stay masked");
}

#[actix_web::test]
async fn events_follow_a_program_change_made_through_the_api_at_once() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let put = |window: u32| {
        browser()
            .put(app.url("/api/v1/programs/acme"))
            .bearer_auth(&key)
            .json(&json!({"name": "Acme", "destination_url": "https://acme.example/", "attribution": {"window_days": window}}))
            .send()
    };
    assert!(put(7).await.unwrap().status().is_success());
    let program = goodword::services::programs::get(&app.state.db, "acme").await.unwrap().unwrap();
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let click = click_through(&app, &visitor(), &code).await;
    app.state.clicks.flush().await;
    app.clock.advance(time::Duration::days(8));
    let event = |id: &str| json!({"id": id, "type": "lead", "program": "acme", "click_id": click, "referee": {"email": format!("{id}@example.org")}});
    assert_eq!(post(&app, &key, event("a")).await.1["attributed"], false, "outside a 7-day window");
    assert!(put(30).await.unwrap().status().is_success());
    assert_eq!(post(&app, &key, event("b")).await.1["attributed"], true, "the cached program was replaced");
}
