//! The fraud checks on real claims and events: each fires with its
//! default and does what the program's action says, decisions are kept
//! with their evidence, held rewards wait for the reviewer, rejections
//! revoke and reinstatements restore, and the participant reads plain
//! words that name no signal.

use serde_json::{Value, json};
use time::Duration;

use crate::helpers::*;
use crate::webhook_receiver::Receiver;
use goodword::domain::review::{ALREADY_HAD_ACCOUNT, Decision, FraudList, NOT_IN_TERMS, UNDER_REVIEW};
use goodword::services::fraud::{lists, review};
use goodword::storage::fraud::FindingRow;
use goodword::storage::referrals::ReferralRow;
use goodword::storage::rewards::RewardRow;

/// A lead reward with no hold, so that only a review can hold it.
fn lead_reward() -> Value {
    json!([{"id": "lead-gift", "when": {"stage": "lead"}, "to": "referrer", "hold_days": 0,
            "choose_within_days": 30, "use_within_days": 90,
            "menu": [{"kind": "custom", "label": "A thank-you gift"}]}])
}

async fn open_link(app: &TestApp, client: &reqwest::Client, code: &str) {
    let resp = client.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
}

/// A claim made at a human pace: the clock moves past the too-fast limit
/// between the click and the claim.
async fn claim_after_a_while(app: &TestApp, client: &reqwest::Client, code: &str, email: &str) -> reqwest::Response {
    open_link(app, client, code).await;
    app.clock.advance(Duration::seconds(30));
    app.submit(client, "/join/acme", "/join/acme", &[("email", email), ("name", "Robin Friend")]).await
}

async fn referral_of(app: &TestApp, email: &str) -> ReferralRow {
    let email = goodword::domain::EmailAddress::parse(email).unwrap().normalized();
    app.state
        .db
        .run(move |c| {
            let all = goodword::storage::referrals::page(c, &Default::default(), None, 1000)?;
            Ok(all.into_iter().find(|r| r.referee_email_normalized.as_deref() == Some(email.as_str())))
        })
        .await
        .unwrap()
        .expect("the referral exists")
}

async fn findings(app: &TestApp, referral_id: &str) -> Vec<FindingRow> {
    let ids = vec![referral_id.to_string()];
    app.state.db.run(move |c| goodword::storage::fraud::findings_for(c, &ids)).await.unwrap()
}

fn checks(found: &[FindingRow]) -> Vec<(&str, &str)> {
    found.iter().map(|f| (f.check_name.as_str(), f.action.as_str())).collect()
}

async fn rewards_of(app: &TestApp, referral_id: &str) -> Vec<RewardRow> {
    let id = referral_id.to_string();
    app.state.db.run(move |c| goodword::storage::rewards::for_referral(c, &id)).await.unwrap()
}

async fn post_event(app: &TestApp, key: &str, body: Value) -> Value {
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn api_key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "events".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

fn verdict(decision: Decision, reason: &str, note: &str) -> review::Verdict {
    review::Verdict::parse(decision, reason, note, "reviewer@example.com".into()).unwrap()
}

#[actix_web::test]
async fn a_claim_sooner_than_a_human_could_is_held_and_an_unhurried_one_goes_through() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let hasty = visitor();
    open_link(&app, &hasty, &code).await;
    app.clock.advance(Duration::seconds(2));
    let resp = app.submit(&hasty, "/join/acme", "/join/acme", &[("email", "quick@example.org"), ("name", "Q")]).await;
    assert_eq!(resp.status(), 303, "a held referee is sent on like any other");
    let quick = referral_of(&app, "quick@example.org").await;
    assert_eq!(quick.review, "held");
    let found = findings(&app, &quick.id).await;
    assert_eq!(checks(&found), [("too_fast", "hold")]);
    assert_eq!(found[0].evidence, "claimed 2 s after the click, faster than 3 s");

    claim_after_a_while(&app, &visitor(), &code, "calm@example.org").await;
    let calm = referral_of(&app, "calm@example.org").await;
    assert_eq!((calm.review.as_str(), calm.stage.as_str()), ("clear", "lead"));
    assert!(findings(&app, &calm.id).await.is_empty());
}

/// A client whose attribution cookie says `gw_ref={code}.{click_id}`, as a
/// script that writes its own cookie would send it.
fn with_ref_cookie(app: &TestApp, code: &str, click_id: &str) -> reqwest::Client {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let base: reqwest::Url = app.url("/").parse().unwrap();
    jar.add_cookie_str(&format!("gw_ref={code}.{click_id}; Path=/"), &base);
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(BROWSER_UA)
        .build()
        .unwrap()
}

#[actix_web::test]
async fn a_claim_naming_a_forged_or_borrowed_click_is_held_as_too_fast() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"fraud": no_velocity_limits()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (_, other_code, _) = enrol(&app, &program, "sam@example.com", "Sam Doe").await;
    // A real click on Sam's link, an hour before the claims.
    open_link(&app, &visitor(), &other_code).await;
    let borrowed = clicks(&app).await.pop().expect("Sam's click").id;
    app.clock.advance(Duration::hours(1));

    // A script that knows the click id's layout dates its click an hour
    // back; another one pairs Jane's code with Sam's old click. Both
    // claim at once.
    let forged = goodword::domain::click_id::click_id_at(app.state.clock.now_utc() - Duration::hours(1), 42);
    for (click_id, email) in [(forged.as_str(), "forger@example.org"), (borrowed.as_str(), "borrower@example.org")] {
        let script = with_ref_cookie(&app, &code, click_id);
        let resp = app.submit(&script, "/join/acme", "/join/acme", &[("email", email), ("name", "Quick")]).await;
        assert_eq!(resp.status(), 303, "{email}");
        let referral = referral_of(&app, email).await;
        assert_eq!(referral.review, "held", "{email}");
        let found = findings(&app, &referral.id).await;
        assert_eq!(checks(&found), [("too_fast", "hold")], "{email}");
        assert_eq!(
            found[0].evidence,
            "the claim names a click that was not recorded for this link, so its time cannot be trusted"
        );
    }

    // Jane's own recorded click, claimed at a human pace, goes through.
    claim_after_a_while(&app, &visitor(), &code, "friend@example.org").await;
    let friend = referral_of(&app, "friend@example.org").await;
    assert_eq!(friend.review, "clear");
}

#[actix_web::test]
async fn the_referrers_own_browser_is_the_same_device_and_is_rejected_without_saying_so() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({})).await;
    let (jane, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let own_browser = visitor();
    let portal = own_browser.get(app.url(&format!("/p/{token}"))).send().await.unwrap();
    assert_eq!(portal.status(), 200);
    let cookies: Vec<&str> = portal.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap()).collect();
    let device = cookies.iter().find(|c| c.starts_with("gw_dev=")).expect("a device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Lax"), "{device}");

    let resp = claim_after_a_while(&app, &own_browser, &code, "jane.second@example.org").await;
    assert_eq!(resp.status(), 303, "sent on to the destination, nothing revealed");
    let row = referral_of(&app, "jane.second@example.org").await;
    assert_eq!((row.stage.as_str(), row.review.as_str()), ("rejected", "rejected"));
    let found = findings(&app, &row.id).await;
    assert!(checks(&found).contains(&("same_device", "reject")), "{found:?}");
    let html = app.get(&format!("/p/{token}")).await.text().await.unwrap();
    assert!(html.contains(ALREADY_HAD_ACCOUNT), "the portal says it in plain words");
    assert!(!html.contains("same device") && !html.contains("cookie"), "and names no signal");
    assert_eq!(goodword::services::referrals::for_participant(&app.state.db, &jane).await.unwrap().len(), 1);
}

#[actix_web::test]
async fn the_referrers_address_and_browser_hold_the_referral_and_the_address_alone_is_evidence() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({})).await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    // Jane looks at her portal; every test request comes from 127.0.0.1.
    assert_eq!(visitor().get(app.url(&format!("/p/{token}"))).send().await.unwrap().status(), 200);

    claim_after_a_while(&app, &visitor(), &code, "same.browser@example.org").await;
    let held = referral_of(&app, "same.browser@example.org").await;
    assert_eq!(held.review, "held");
    let found = findings(&app, &held.id).await;
    assert_eq!(checks(&found), [("same_ip", "hold")]);
    assert!(found[0].evidence.starts_with("same IP hash and browser as the referrer's visit of "), "{found:?}");
    assert!(!found[0].evidence.contains("127.0.0.1"), "never the raw address");

    let other_browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
        .build()
        .unwrap();
    claim_after_a_while(&app, &other_browser, &code, "other.browser@example.org").await;
    let clear = referral_of(&app, "other.browser@example.org").await;
    assert_eq!(clear.review, "clear", "an office or a mobile network is shared");
    let found = findings(&app, &clear.id).await;
    assert_eq!(checks(&found), [("same_ip", "allow")], "kept as evidence for a reviewer");
}

#[actix_web::test]
async fn disposable_domains_are_held_unless_the_admin_allows_them_and_added_ones_are_held_too() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"fraud": no_velocity_limits()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let now = app.state.clock.now_utc();

    claim_after_a_while(&app, &visitor(), &code, "someone@mailinator.com").await;
    let row = referral_of(&app, "someone@mailinator.com").await;
    assert_eq!(row.review, "held");
    assert_eq!(findings(&app, &row.id).await[0].evidence, "mailinator.com is a disposable email domain");

    lists::add(&app.state.db, FraudList::DisposableAllow, "mailinator.com", "our QA team", "owner@example.com", now)
        .await
        .unwrap();
    claim_after_a_while(&app, &visitor(), &code, "qa@mailinator.com").await;
    assert_eq!(referral_of(&app, "qa@mailinator.com").await.review, "clear");

    lists::add(&app.state.db, FraudList::DisposableAdd, "throwaway.example", "", "owner@example.com", now)
        .await
        .unwrap();
    claim_after_a_while(&app, &visitor(), &code, "x@mail.throwaway.example").await;
    assert_eq!(referral_of(&app, "x@mail.throwaway.example").await.review, "held", "subdomains are covered");
}

#[actix_web::test]
async fn velocity_lets_the_nth_referral_of_the_hour_through_and_holds_the_next() {
    let app = spawn_app().await;
    let fraud = json!({"velocity": {"per_participant_per_hour": 3, "per_participant_per_day": 100,
                                    "per_ip_per_day": 100, "action": "hold"}});
    let program = create_program(&app, json!({"fraud": fraud})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    let mut reviews = Vec::new();
    for i in 0..4 {
        let body = post_event(
            &app,
            &key,
            json!({"id": format!("lead-{i}"), "type": "lead", "program": "acme", "code": code,
                   "referee": {"email": format!("friend{i}@example.org")}}),
        )
        .await;
        reviews.push(referral_of(&app, &format!("friend{i}@example.org")).await.review);
        assert_eq!(body["stage"], "lead", "a held referral keeps its stage");
    }
    assert_eq!(reviews, ["clear", "clear", "clear", "held"]);
    let fourth = referral_of(&app, "friend3@example.org").await;
    let found = findings(&app, &fourth.id).await;
    assert_eq!(found[0].evidence, "over the limit of 3 referrals by this participant in the last hour");
    // An hour later the window has moved on.
    app.clock.advance(Duration::minutes(61));
    post_event(
        &app,
        &key,
        json!({"id": "later", "type": "lead", "program": "acme", "code": code, "referee": {"email": "later@example.org"}}),
    )
    .await;
    assert_eq!(referral_of(&app, "later@example.org").await.review, "clear");
}

#[actix_web::test]
async fn a_burst_of_signups_from_one_address_is_held_after_the_daily_limit() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({})).await;
    let mut reviews = Vec::new();
    // Four referrers, one referee each, all from one address (default: 3 a day).
    for i in 0..4 {
        let (_, code, _) = enrol(&app, &program, &format!("p{i}@example.com"), "Pat Person").await;
        let email = format!("burst{i}@example.org");
        claim_after_a_while(&app, &visitor(), &code, &email).await;
        reviews.push(referral_of(&app, &email).await.review);
    }
    assert_eq!(reviews, ["clear", "clear", "clear", "held"]);
    let last = referral_of(&app, "burst3@example.org").await;
    assert_eq!(
        findings(&app, &last.id).await[0].evidence,
        "over the limit of 3 referrals from this IP hash in the last day"
    );
}

#[actix_web::test]
async fn blocklisted_addresses_domains_and_networks_are_rejected() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"fraud": no_velocity_limits()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let now = app.state.clock.now_utc();
    let add = |list, value: &'static str| lists::add(&app.state.db, list, value, "", "owner@example.com", now);
    add(FraudList::BlockEmail, "Known.Abuser+x@GoogleMail.com").await.unwrap();
    add(FraudList::BlockDomain, "spam.example").await.unwrap();

    claim_after_a_while(&app, &visitor(), &code, "knownabuser@gmail.com").await;
    claim_after_a_while(&app, &visitor(), &code, "a@eu.spam.example").await;
    for (email, evidence) in [
        ("knownabuser@gmail.com", "on the blocklist: the email address knownabuser@gmail.com"),
        ("a@eu.spam.example", "on the blocklist: the domain spam.example"),
    ] {
        let row = referral_of(&app, email).await;
        assert_eq!(row.stage, "rejected", "{email}");
        assert_eq!(findings(&app, &row.id).await[0].evidence, evidence);
        assert_eq!(row.review_reason.as_deref(), Some(NOT_IN_TERMS));
    }
    add(FraudList::BlockIp, "127.0.0.0/8").await.unwrap();
    claim_after_a_while(&app, &visitor(), &code, "from.blocked.net@example.org").await;
    assert_eq!(referral_of(&app, "from.blocked.net@example.org").await.stage, "rejected");
}

/// Claims with `X-Forwarded-For: 203.0.113.5` on the POST.
async fn claim_forwarded(app: &TestApp, code: &str, email: &str) {
    let client = visitor();
    open_link(app, &client, code).await;
    app.clock.advance(Duration::seconds(30));
    let html = client.get(app.url("/join/acme")).send().await.unwrap().text().await.unwrap();
    let token = csrf_in(&html);
    let resp = client
        .post(app.url("/join/acme"))
        .header("Origin", &app.address)
        .header("X-Forwarded-For", "203.0.113.5")
        .form(&[("csrf_token", token.as_str()), ("email", email), ("name", "Robin")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[actix_web::test]
async fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    for (trusted, expected) in [(false, "lead"), (true, "rejected")] {
        let app = spawn_app_with(|s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        })
        .await;
        let program = create_program(&app, json!({})).await;
        let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
        let now = app.state.clock.now_utc();
        lists::add(&app.state.db, FraudList::BlockIp, "203.0.113.0/24", "", "owner@example.com", now).await.unwrap();
        claim_forwarded(&app, &code, "forwarded@example.org").await;
        let row = referral_of(&app, "forwarded@example.org").await;
        assert_eq!(row.stage, expected, "trusted proxy: {trusted} (otherwise the header is a spoof)");
    }
}

#[actix_web::test]
async fn each_action_is_applied_as_the_program_sets_it() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    for (i, (action, review, stage)) in [
        ("allow", "clear", "lead"),
        ("flag", "flagged", "lead"),
        ("hold", "held", "lead"),
        ("reject", "rejected", "rejected"),
    ]
    .into_iter()
    .enumerate()
    {
        let fraud = json!({"disposable_email": action});
        let program = create_program(&app, json!({"fraud": fraud})).await;
        // Saved behind the API's back: the cache learns of it as an edit would tell it.
        app.state.links.invalidate_program(&program.id);
        let (_, code, _) = enrol(&app, &program, &format!("p{i}@example.com"), "Pat Person").await;
        let email = format!("f{i}@mailinator.com");
        let body = post_event(
            &app,
            &key,
            json!({"id": format!("e{i}"), "type": "lead", "program": "acme", "code": code, "referee": {"email": email}}),
        )
        .await;
        assert_eq!(body["stage"], stage, "{action}");
        let row = referral_of(&app, &email).await;
        assert_eq!(row.review, review, "{action}");
        assert_eq!(checks(&findings(&app, &row.id).await), [("disposable_email", action)], "kept for every action");
    }
}

#[actix_web::test]
async fn a_held_referrals_reward_stays_pending_past_its_date_until_a_reviewer_approves() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"rewards": lead_reward()})).await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    claim_after_a_while(&app, &visitor(), &code, "held@mailinator.com").await;
    let row = referral_of(&app, "held@mailinator.com").await;
    let reward = rewards_of(&app, &row.id).await.remove(0);
    assert_eq!((reward.status.as_str(), reward.review_hold, reward.reason.as_str()), ("pending", true, UNDER_REVIEW));

    app.clock.advance(Duration::days(10));
    let doorbell = app.state.webhooks.doorbell();
    goodword::services::rewards::lifecycle::run_due(&app.state.db, doorbell, app.state.clock.now_utc()).await.unwrap();
    assert_eq!(rewards_of(&app, &row.id).await[0].status, "pending", "the clock does not release it");
    let html = app.get(&format!("/p/{token}")).await.text().await.unwrap();
    assert!(html.contains(UNDER_REVIEW));
    assert!(!html.contains("disposable") && !html.contains("mailinator"), "no signal named");

    review::decide(
        &app.state.db,
        doorbell,
        &row.id,
        verdict(Decision::Approve, "genuine", ""),
        app.state.clock.now_utc(),
    )
    .await
    .unwrap();
    let reward = rewards_of(&app, &row.id).await.remove(0);
    assert_eq!((reward.status.as_str(), reward.review_hold), ("available", false));
    assert!(reward.choose_by > app.state.clock.now_utc() + Duration::days(29), "the full time to choose");
    assert_eq!(referral_of(&app, "held@mailinator.com").await.review, "approved");
    let again = review::decide(
        &app.state.db,
        doorbell,
        &row.id,
        verdict(Decision::Approve, "genuine", ""),
        app.state.clock.now_utc(),
    )
    .await;
    assert!(matches!(again, Err(goodword::services::ServiceError::Conflict(_))), "decided once");
}

#[actix_web::test]
async fn a_rejection_revokes_the_rewards_and_a_reinstatement_brings_them_back() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"rewards": lead_reward()})).await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    claim_after_a_while(&app, &visitor(), &code, "fine@example.org").await;
    let row = referral_of(&app, "fine@example.org").await;
    assert_eq!(rewards_of(&app, &row.id).await[0].status, "available");
    let doorbell = app.state.webhooks.doorbell();
    let now = app.state.clock.now_utc();

    let rejected = review::decide(
        &app.state.db,
        doorbell,
        &row.id,
        verdict(Decision::Reject, "existing_customer", "CRM shows a 2024 account"),
        now,
    )
    .await
    .unwrap();
    assert_eq!((rejected.stage.as_str(), rejected.review_reason.as_deref()), ("rejected", Some(ALREADY_HAD_ACCOUNT)));
    let reward = rewards_of(&app, &row.id).await.remove(0);
    assert_eq!((reward.status.as_str(), reward.reason.as_str()), ("revoked", ALREADY_HAD_ACCOUNT));
    let html = app.get(&format!("/p/{token}")).await.text().await.unwrap();
    assert!(html.contains(ALREADY_HAD_ACCOUNT) && !html.contains("CRM"), "the note is for the team only");

    let back = review::decide(
        &app.state.db,
        doorbell,
        &row.id,
        verdict(Decision::Reinstate, "other", "a new account after all"),
        now,
    )
    .await
    .unwrap();
    assert_eq!((back.stage.as_str(), back.review.as_str(), back.review_reason), ("lead", "approved", None));
    assert_eq!(rewards_of(&app, &row.id).await[0].status, "available");

    let audit = goodword::services::audit::recent(&app.state.db, 10).await.unwrap();
    let actions: Vec<(&str, &str)> = audit.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert!(actions.contains(&("referral.rejected", "reviewer@example.com")), "{actions:?}");
    assert!(actions.contains(&("referral.reinstated", "reviewer@example.com")), "{actions:?}");
}

#[actix_web::test]
async fn reinstating_a_referral_rejected_at_once_issues_what_it_earned() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"rewards": lead_reward()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let now = app.state.clock.now_utc();
    lists::add(&app.state.db, FraudList::BlockDomain, "partner.example", "", "owner@example.com", now).await.unwrap();
    claim_after_a_while(&app, &visitor(), &code, "ceo@partner.example").await;
    let row = referral_of(&app, "ceo@partner.example").await;
    assert_eq!(row.stage, "rejected");
    assert!(rewards_of(&app, &row.id).await.is_empty(), "a rejected referral earns nothing");
    let doorbell = app.state.webhooks.doorbell();
    review::decide(&app.state.db, doorbell, &row.id, verdict(Decision::Reinstate, "check_too_strict", ""), now)
        .await
        .unwrap();
    let rewards = rewards_of(&app, &row.id).await;
    assert_eq!(rewards.len(), 1);
    assert_eq!(rewards[0].status, "available");
}

#[actix_web::test]
async fn a_check_that_fires_tells_the_business_by_a_fraud_flagged_webhook() {
    let app = spawn_app_with(|s| s.allow_private_webhooks = true).await;
    let receiver = Receiver::start(&[]).await;
    let spec =
        goodword::services::webhooks::parse_endpoint(&receiver.url, "CRM", &["fraud.flagged".into()], true).unwrap();
    let now = app.state.clock.now_utc();
    goodword::services::webhooks::create(&app.state.db, &app.state.keys.webhook, "test".into(), spec, now)
        .await
        .unwrap();
    let program = create_program(&app, json!({})).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    claim_after_a_while(&app, &visitor(), &code, "clean@example.org").await;
    claim_after_a_while(&app, &visitor(), &code, "temp@mailinator.com").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "only the held one is flagged");
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "fraud.flagged");
    let data = &body["data"];
    assert_eq!((data["action"].as_str(), data["participant_id"].as_str()), (Some("hold"), Some(jane.as_str())));
    assert_eq!(data["checks"][0]["check"], "disposable_email");
    assert_eq!(data["referral_id"], referral_of(&app, "temp@mailinator.com").await.id);
}

/// Posts the fraud settings form of program `acme` with `changes` over
/// what the page shows.
async fn save_fraud_settings(app: &TestApp, changes: &[(&str, &str)]) -> reqwest::Response {
    let html = app.get("/admin/programs/acme/fraud").await.text().await.unwrap();
    let version = extract(&html, "name=\"version\" value=\"", "\"").expect("the form's version");
    let mut fields: Vec<(&str, &str)> = vec![
        ("version", &version),
        ("self_referral", "reject"),
        ("same_device", "reject"),
        ("same_ip", "hold"),
        ("disposable_email", "hold"),
        ("velocity.action", "hold"),
        ("velocity.per_participant_per_hour", "5"),
        ("velocity.per_participant_per_day", "20"),
        ("velocity.per_ip_per_day", "3"),
        ("min_seconds_click_to_lead", "3"),
    ];
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    let page = "/admin/programs/acme/fraud";
    app.submit(&app.client, page, page, &fields).await
}

#[actix_web::test]
async fn the_admin_sets_each_checks_action_and_a_bad_limit_is_named_beside_its_field() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;

    let resp =
        save_fraud_settings(&app, &[("velocity.per_ip_per_day", "lots"), ("min_seconds_click_to_lead", "7200")]).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"velocity-per_ip_per_day-error\">enter a whole number<"), "beside the field");
    assert!(html.contains("value=\"lots\""), "what was typed is kept");

    let resp =
        save_fraud_settings(&app, &[("disposable_email", "reject"), ("min_seconds_click_to_lead", "9999")]).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"min_seconds_click_to_lead-error\">use 0 to 3600 seconds<"));

    let resp = save_fraud_settings(&app, &[("disposable_email", "reject")]).await;
    assert_eq!(resp.status(), 303);
    let saved = goodword::services::programs::get(&app.state.db, "acme").await.unwrap().unwrap();
    assert_eq!(saved.config.fraud.disposable_email.as_str(), "reject");
    assert_eq!(saved.config.landing.headline, program.config.landing.headline, "the rest is kept");
    claim_after_a_while(&app, &visitor(), &code, "temp@mailinator.com").await;
    assert_eq!(referral_of(&app, "temp@mailinator.com").await.stage, "rejected");
    let audit = goodword::services::audit::recent(&app.state.db, 5).await.unwrap();
    assert!(audit.iter().any(|a| a.action.starts_with("program.") && a.actor == "owner@example.com"), "{audit:?}");
}

#[actix_web::test]
async fn the_dashboard_says_how_many_referrals_wait_and_an_early_release_defers_to_the_review() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = create_program(&app, json!({"rewards": lead_reward()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    claim_after_a_while(&app, &visitor(), &code, "held@mailinator.com").await;
    let html = app.get("/admin").await.text().await.unwrap();
    assert!(html.contains("1 referral waits for review"), "the dashboard tells");
    let row = referral_of(&app, "held@mailinator.com").await;
    let reward = rewards_of(&app, &row.id).await.remove(0);
    let doorbell = app.state.webhooks.doorbell();
    let early = goodword::services::rewards::lifecycle::approve_early(
        &app.state.db,
        doorbell,
        &reward.id,
        "owner@example.com".into(),
        app.state.clock.now_utc(),
    )
    .await;
    match early {
        Err(goodword::services::ServiceError::Conflict(why)) => assert!(why.contains("review queue"), "{why}"),
        other => panic!("an early release must wait for the review: {other:?}"),
    }
}

#[actix_web::test]
async fn the_api_lists_referrals_by_review_and_names_a_bad_filter() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    for (id, email) in [("a", "fine@example.org"), ("b", "temp@mailinator.com")] {
        let body = json!({"id": id, "type": "lead", "program": "acme", "code": code, "referee": {"email": email}});
        post_event(&app, &key, body).await;
    }
    let get = |query: &'static str| {
        let url = app.url(&format!("/api/v1/referrals{query}"));
        let client = app.client.clone();
        let key = key.clone();
        async move { client.get(url).bearer_auth(key).send().await.unwrap() }
    };
    let held: Value = get("?review=held").await.json().await.unwrap();
    let emails: Vec<&str> =
        held["data"].as_array().unwrap().iter().map(|r| r["referee"]["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["temp@mailinator.com"]);
    assert_eq!(held["data"][0]["review"], "held");
    let bad = get("?review=maybe").await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "review");
}
