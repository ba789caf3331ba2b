//! Outbound webhooks against a real receiving HTTP server: signed as the
//! README documents, written with the change that causes them, retried
//! with the same `webhook-id`, given up after about three days, 410 and
//! private targets handled, sent once by two servers on one database, and
//! managed in the admin.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::*;
use crate::webhook_receiver::{Received, Receiver};
use goodword::storage::webhooks::{self as store, DeliveryRow};

/// The receiver's check, step by step as in the README: strip `whsec_`,
/// base64-decode the key, HMAC-SHA256 over `{id}.{timestamp}.{body}`, and
/// accept if any `v1,` signature in the header matches.
fn verify(secret: &str, received: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 secret");
    let signed =
        format!("{}.{}.{}", received.header("webhook-id"), received.header("webhook-timestamp"), received.body);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received.header("webhook-signature").split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|s| s == expected)
}

async fn api_key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "crm".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

async fn post_event(app: &TestApp, key: &str, body: Value) -> Value {
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Event `e1`: bob@example.org becomes a lead through `code`.
async fn bob_becomes_a_lead(app: &TestApp, key: &str, code: &str) {
    let referee = json!({"email": "bob@example.org"});
    post_event(app, key, json!({"id": "e1", "type": "lead", "program": "acme", "code": code, "referee": referee}))
        .await;
}

/// An app that may send to loopback (the receiver runs there).
async fn app_allowing_loopback() -> TestApp {
    spawn_app_with(|s| s.allow_private_webhooks = true).await
}

/// Adds an endpoint through the admin form as the owner; returns its id
/// and the secret the page showed once.
async fn add_endpoint(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let mut fields = vec![("url", url), ("description", "CRM")];
    fields.extend(types.iter().map(|t| ("event_types", *t)));
    let resp = app.submit(&app.client, "/admin/webhooks", "/admin/webhooks", &fields).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    let secret = extract(&html, "<code class=\"secret\" id=\"new-secret\">", "<").expect("the secret is shown");
    let endpoints = goodword::services::webhooks::list(&app.state.db).await.unwrap();
    (endpoints.last().unwrap().endpoint.id.clone(), secret)
}

const ALL_TYPES: [&str; 8] = [
    "referral.created",
    "referral.stage_changed",
    "reward.issued",
    "reward.available",
    "reward.chosen",
    "reward.expired",
    "reward.revoked",
    "fraud.flagged",
];

async fn deliveries(app: &TestApp) -> Vec<DeliveryRow> {
    app.state
        .db
        .run(|c| {
            let mut all = Vec::new();
            for e in store::list_endpoints(c)? {
                all.extend(store::deliveries_for_endpoint(c, &e.id, 1000)?);
            }
            Ok(all)
        })
        .await
        .unwrap()
}

/// Waits until this server's worker has recorded `n` attempts in all.
async fn attempts_recorded(app: &TestApp, n: u64) {
    let mut recorded = app.state.webhooks.counts().recorded();
    tokio::time::timeout(Duration::from_secs(20), recorded.wait_for(|c| *c >= n))
        .await
        .unwrap_or_else(|_| panic!("{n} attempts should be recorded"))
        .unwrap();
}

/// Moves the clock past the next attempt's time and wakes the worker.
fn advance_past(app: &TestApp, delivery: &DeliveryRow) {
    let now = app.state.clock.now_utc();
    app.clock.advance(delivery.next_attempt_at - now + time::Duration::seconds(1));
    app.state.webhooks.doorbell().ring();
}

async fn setup(app: &TestApp) -> (String, String) {
    app.setup_owner().await;
    // Many referrals through one link: velocity holds would add
    // `fraud.flagged` webhooks the tests do not count.
    let program = create_program(app, json!({"fraud": no_velocity_limits()})).await;
    let (_, code, _) = enrol(app, &program, "jane@example.com", "Jane Doe").await;
    (api_key(app).await, code)
}

#[actix_web::test]
async fn each_stage_reaches_the_receiver_signed_as_the_readme_documents() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    let (_, secret) = add_endpoint(&app, &receiver.url, &ALL_TYPES).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let referee = json!({"email": "bob@example.org", "external_id": "cus_9"});
    post_event(&app, &key, json!({"id": "e1", "type": "lead", "program": "acme", "code": code, "referee": referee}))
        .await;
    post_event(
        &app,
        &key,
        json!({"id": "e2", "type": "won", "program": "acme", "referee": referee, "amount": 12000, "currency": "EUR"}),
    )
    .await;
    // The worker sends them on its own, woken by the commit.
    let got = receiver.wait_for(2).await;

    let mut types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    types.sort();
    assert_eq!(types, ["referral.created", "referral.stage_changed"]);
    for r in &got {
        assert!(verify(&secret, r), "signature verifies: {:?}", r.headers);
        assert!(!verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", r), "another secret does not");
        assert!(r.header("webhook-id").starts_with("msg_"));
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("webhook-timestamp"), app.state.clock.now().unix_timestamp().to_string());
        assert_eq!(r.path, "/hooks");
    }
    let changed = got.iter().map(Received::json).find(|b| b["type"] == "referral.stage_changed").unwrap();
    let data = &changed["data"];
    assert_eq!((data["stage"].as_str(), data["previous_stage"].as_str()), (Some("won"), Some("lead")));
    assert_eq!((data["event_id"].as_str(), data["program"].as_str()), (Some("e2"), Some("acme")));
    assert_eq!(data["referee"]["external_id"], "cus_9");
    assert!(data["won_at"].is_string() && changed["timestamp"].is_string());
}

#[actix_web::test]
async fn a_claim_on_the_landing_page_sends_referral_created() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (_, code) = setup(&app).await;
    let (_, secret) = add_endpoint(&app, &receiver.url, &["referral.created"]).await;

    let referee = visitor();
    referee.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    let html = referee.get(app.url("/join/acme")).send().await.unwrap().text().await.unwrap();
    let form = [("csrf_token", csrf_in(&html)), ("email", "ann@example.org".into()), ("name", "Ann".into())];
    let resp = referee.post(app.url("/join/acme")).header("Origin", &app.address).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), 303);

    let got = receiver.wait_for(1).await;
    assert!(verify(&secret, &got[0]));
    let body = got[0].json();
    assert_eq!((body["type"].as_str(), body["data"]["stage"].as_str()), (Some("referral.created"), Some("lead")));
    assert_eq!(body["data"]["referee"]["email"], "ann@example.org");
    assert_eq!(body["data"]["event_id"], Value::Null);
}

#[actix_web::test]
async fn only_the_chosen_types_are_sent_and_a_duplicate_event_sends_nothing_new() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    add_endpoint(&app, &receiver.url, &["referral.stage_changed"]).await;

    let referee = json!({"email": "bob@example.org"});
    let lead = json!({"id": "e1", "type": "lead", "program": "acme", "code": code, "referee": referee});
    post_event(&app, &key, lead.clone()).await;
    post_event(&app, &key, json!({"id": "e2", "type": "qualified", "program": "acme", "referee": referee})).await;
    assert_eq!(post_event(&app, &key, lead).await["duplicate"], true);
    // An earlier stage changes nothing, so it tells nothing.
    post_event(&app, &key, json!({"id": "e3", "type": "lead", "program": "acme", "referee": referee})).await;

    let rows = deliveries(&app).await;
    assert_eq!(rows.len(), 1, "one stage change, nothing for the created referral or the no-ops");
    assert_eq!(rows[0].event_type, "referral.stage_changed");
    receiver.wait_for(1).await;
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_with_the_same_id_until_it_answers_200() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[500, 500, 200]).await;
    let (key, code) = setup(&app).await;
    let (endpoint, secret) = add_endpoint(&app, &receiver.url, &ALL_TYPES).await;
    bob_becomes_a_lead(&app, &key, &code).await;

    attempts_recorded(&app, 1).await;
    let first = deliveries(&app).await.remove(0);
    assert_eq!((first.status.as_str(), first.attempts, first.last_status_code), ("pending", 1, Some(500)));
    let wait = first.next_attempt_at - first.last_attempt_at.unwrap();
    assert!(wait >= time::Duration::seconds(4) && wait <= time::Duration::seconds(6), "first retry after ~5 s: {wait}");
    // Nothing is due before its time.
    assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 0);

    advance_past(&app, &first);
    attempts_recorded(&app, 2).await;
    let second = deliveries(&app).await.remove(0);
    assert_eq!((second.status.as_str(), second.attempts), ("pending", 2));
    let wait = second.next_attempt_at - second.last_attempt_at.unwrap();
    assert!(wait >= time::Duration::seconds(48) && wait <= time::Duration::seconds(72), "then after ~1 min: {wait}");

    advance_past(&app, &second);
    attempts_recorded(&app, 3).await;
    let done = deliveries(&app).await.remove(0);
    assert_eq!((done.status.as_str(), done.attempts, done.last_status_code), ("delivered", 3, Some(200)));

    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.header("webhook-id") == got[0].header("webhook-id")), "one webhook-id");
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body every time");
    assert!(got.iter().all(|r| verify(&secret, r)));
    // The admin shows the delivery and each attempt's answer.
    let page = app.get(&format!("/admin/webhooks/{endpoint}/deliveries/{}", done.id)).await.text().await.unwrap();
    assert!(page.contains(&done.message_id) && page.contains("answer 1") && page.contains("answer 3"), "{page}");
    let list = app.get(&format!("/admin/webhooks/{endpoint}")).await.text().await.unwrap();
    assert!(list.contains("referral.created") && list.contains("delivered"));

    app.clock.advance(time::Duration::days(4));
    assert_eq!(app.state.webhooks.deliver_due().await.unwrap(), 0, "delivered once: nothing more is sent");
}

#[actix_web::test]
async fn a_delivery_is_given_up_after_about_three_days_of_retries() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[503]).await;
    let (key, code) = setup(&app).await;
    add_endpoint(&app, &receiver.url, &ALL_TYPES).await;
    let started = app.state.clock.now_utc();
    bob_becomes_a_lead(&app, &key, &code).await;

    let mut recorded = 1;
    attempts_recorded(&app, recorded).await;
    loop {
        let row = deliveries(&app).await.remove(0);
        if row.status != "pending" {
            assert_eq!((row.status.as_str(), row.attempts), ("failed", 11));
            let span = row.last_attempt_at.unwrap() - started;
            assert!(span > time::Duration::hours(57) && span < time::Duration::hours(87), "about three days: {span}");
            assert_eq!(row.last_error.as_deref(), Some("the receiver answered 503"));
            break;
        }
        assert!(recorded < 11, "no more than 11 attempts");
        advance_past(&app, &row);
        recorded += 1;
        attempts_recorded(&app, recorded).await;
    }
    assert_eq!(receiver.received().len(), 11);
}

#[actix_web::test]
async fn a_410_disables_the_endpoint_and_redirects_are_not_followed() {
    let app = app_allowing_loopback().await;
    let gone = Receiver::start(&[410]).await;
    let moved = Receiver::start(&[302]).await;
    let (key, code) = setup(&app).await;
    let (gone_id, _) = add_endpoint(&app, &gone.url, &ALL_TYPES).await;
    add_endpoint(&app, &moved.url, &ALL_TYPES).await;
    bob_becomes_a_lead(&app, &key, &code).await;
    attempts_recorded(&app, 2).await;

    let rows = deliveries(&app).await;
    let to_gone = rows.iter().find(|d| d.endpoint_id == gone_id).unwrap();
    let to_moved = rows.iter().find(|d| d.endpoint_id != gone_id).unwrap();
    assert_eq!((to_gone.status.as_str(), to_gone.last_status_code), ("failed", Some(410)));
    assert_eq!((to_moved.status.as_str(), to_moved.last_status_code), ("pending", Some(302)));
    assert!(
        to_moved.last_error.as_deref().unwrap().contains("redirects are not followed"),
        "{:?}",
        to_moved.last_error
    );
    assert_eq!(moved.received().len(), 1, "the redirect's target was not requested");
    assert!(moved.received().iter().all(|r| r.path == "/hooks"));

    let page = app.get(&format!("/admin/webhooks/{gone_id}")).await.text().await.unwrap();
    assert!(page.contains("Disabled by goodword") && page.contains("410 Gone"), "{page}");
    // A disabled endpoint gets no new deliveries.
    post_event(
        &app,
        &key,
        json!({"id": "e2", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}}),
    )
    .await;
    let rows = deliveries(&app).await;
    assert_eq!(rows.iter().filter(|d| d.endpoint_id == gone_id).count(), 1);
}

#[actix_web::test]
async fn private_and_loopback_targets_are_refused_unless_allowed() {
    let app = spawn_app().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    let resp = app
        .submit(
            &app.client,
            "/admin/webhooks",
            "/admin/webhooks",
            &[("url", &receiver.url), ("event_types", "referral.created")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("private or loopback address") && html.contains("aria-invalid=\"true\""), "{html}");

    // A name that resolves to loopback (as a DNS change could make it) is
    // refused when the delivery is sent.
    let now = app.state.clock.now_utc();
    let endpoint = store::EndpointRow {
        id: "ep1".into(),
        url: format!("http://localhost:{}/hooks", receiver.port),
        description: String::new(),
        event_types: String::new(),
        secret_salt: "salt".into(),
        previous_secret_salt: None,
        previous_secret_until: None,
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    app.state.db.write(move |c| store::insert_endpoint(c, &endpoint)).await.unwrap();
    bob_becomes_a_lead(&app, &key, &code).await;
    attempts_recorded(&app, 1).await;
    let row = deliveries(&app).await.remove(0);
    let error = row.last_error.unwrap();
    assert!(
        error.contains("refused: localhost resolves to") && error.contains("GOODWORD_ALLOW_PRIVATE_WEBHOOKS"),
        "{error}"
    );
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
}

#[actix_web::test]
async fn two_servers_on_one_database_send_each_webhook_once() {
    let first = app_allowing_loopback().await;
    let second = spawn_app_beside(&first, |s| s.allow_private_webhooks = true).await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&first).await;
    let (_, secret) = add_endpoint(&first, &receiver.url, &ALL_TYPES).await;

    let events = 40;
    for i in 0..events {
        let referee = json!({"email": format!("r{i}@example.org")});
        let app = if i % 2 == 0 { &first } else { &second };
        post_event(
            app,
            &key,
            json!({"id": format!("e{i}"), "type": "lead", "program": "acme", "code": code, "referee": referee}),
        )
        .await;
    }
    // Both workers are awake and race for the same rows.
    let (a, b) = tokio::join!(first.state.webhooks.deliver_due(), second.state.webhooks.deliver_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    // Wait until the two servers together recorded an attempt per row: then
    // every row is final and nothing is left that could be sent again.
    let (mut on_first, mut on_second) =
        (first.state.webhooks.counts().recorded(), second.state.webhooks.counts().recorded());
    let all_recorded = async {
        while (*on_first.borrow_and_update() + *on_second.borrow_and_update()) < events as u64 {
            tokio::select! {
                _ = on_first.changed() => {}
                _ = on_second.changed() => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all_recorded).await.expect("every delivery attempted");
    let rows = deliveries(&first).await;
    assert_eq!(rows.len(), events);
    assert!(rows.iter().all(|d| d.status == "delivered" && d.attempts == 1), "each row claimed and sent once");
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (events, events), "each webhook once (first sent {a}, second {b} in the race)");
    assert!(got.iter().all(|r| verify(&secret, r)), "both servers sign with the same secret");
}

#[actix_web::test]
async fn redeliver_sends_a_delivered_webhook_again_with_the_same_id() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    let (endpoint, _) = add_endpoint(&app, &receiver.url, &ALL_TYPES).await;
    bob_becomes_a_lead(&app, &key, &code).await;
    attempts_recorded(&app, 1).await;
    let delivery = deliveries(&app).await.remove(0);
    assert_eq!(delivery.status, "delivered");

    let page = format!("/admin/webhooks/{endpoint}/deliveries/{}", delivery.id);
    let resp = app.submit(&app.client, &page, &format!("{page}/redeliver"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), page);
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    attempts_recorded(&app, 2).await;
    let again = deliveries(&app).await.remove(0);
    assert_eq!((again.status.as_str(), again.attempts), ("delivered", 2));
    let audit = app.get("/admin/audit").await.text().await.unwrap();
    assert!(audit.contains("webhook.redelivered") && audit.contains("webhook.created"));
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_previous_one_for_a_day() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    let (endpoint, old) = add_endpoint(&app, &receiver.url, &ALL_TYPES).await;
    let page = format!("/admin/webhooks/{endpoint}");
    let resp = app.submit(&app.client, &page, &format!("{page}/rotate-secret"), &[]).await;
    assert_eq!((resp.status().as_u16(), resp.headers()["cache-control"].to_str().unwrap()), (200, "no-store"));
    let html = resp.text().await.unwrap();
    let new = extract(&html, "<code class=\"secret\" id=\"new-secret\">", "<").unwrap();
    assert_ne!(new, old);

    bob_becomes_a_lead(&app, &key, &code).await;
    let got = receiver.wait_for(1).await;
    assert!(verify(&new, &got[0]) && verify(&old, &got[0]), "both secrets verify during the overlap");

    app.clock.advance(time::Duration::hours(25));
    post_event(
        &app,
        &key,
        json!({"id": "e2", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}}),
    )
    .await;
    let got = receiver.wait_for(2).await;
    assert!(verify(&new, &got[1]) && !verify(&old, &got[1]), "the previous secret stops after a day");
}

#[actix_web::test]
async fn the_endpoint_form_names_each_problem_and_viewers_cannot_change_endpoints() {
    let app = app_allowing_loopback().await;
    app.setup_owner().await;
    let resp = app
        .submit(
            &app.client,
            "/admin/webhooks",
            "/admin/webhooks",
            &[("url", "ftp://crm.example/x"), ("description", "CRM")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"url-error\"") && html.contains("use an https://"), "{html}");
    assert!(html.contains("id=\"event_types-error\"") && html.contains("choose at least one event type"));
    assert!(html.contains("value=\"ftp://crm.example/x\""), "what was typed stays in the form");

    let (endpoint, _) = add_endpoint(&app, "https://crm.example/hooks", &["reward.issued"]).await;
    let list = app.get("/admin/webhooks").await.text().await.unwrap();
    assert!(list.contains("https://crm.example/hooks") && list.contains("reward.issued"));
    let page = format!("/admin/webhooks/{endpoint}");
    let resp = app.submit(&app.client, &page, &format!("{page}/disable"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert!(!goodword::services::webhooks::list(&app.state.db).await.unwrap()[0].endpoint.enabled);

    app.create_user("viewer@example.com", goodword::domain::Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    assert_eq!(get_with(&viewer, &app.url(&page)).await.status(), 200, "viewers may look");
    let resp = app.submit(&viewer, &page, &format!("{page}/enable"), &[]).await;
    assert_eq!(resp.status(), 403);
    let resp = app
        .submit(
            &viewer,
            "/admin/webhooks",
            "/admin/webhooks",
            &[("url", "https://x.example/"), ("event_types", "reward.issued")],
        )
        .await;
    assert_eq!(resp.status(), 403);
}

#[actix_web::test]
async fn an_endpoint_added_with_the_cli_gets_a_secret_that_verifies_what_the_server_sends() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start(&[]).await;
    let (key, code) = setup(&app).await;
    let cli = |allow: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_goodword"))
            .args(["webhook", "create", "--url", &receiver.url, "--event", "referral.created"])
            .env("DATABASE_URL", app.db().env_url())
            .env("GOODWORD_ALLOW_PRIVATE_WEBHOOKS", allow)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    };
    let refused = cli("false");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("private or loopback"));

    let out = cli("true");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the secret: {stdout:?}");
    let secret = stdout.trim();
    assert!(secret.starts_with("whsec_"));

    bob_becomes_a_lead(&app, &key, &code).await;
    let got = receiver.wait_for(1).await;
    assert!(verify(secret, &got[0]), "the server signs with the secret the CLI printed");
}
