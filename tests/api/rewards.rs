//! Rewards: every rule shape issued exactly once in the transaction of the
//! change that earns it, caps, holds and expiries on an injected clock,
//! each menu kind chosen and fulfilled, refunds that revoke or leave a
//! clawback, coupon pools shared by two servers, the portal's choice with
//! CSRF, the API and the webhooks.

use serde_json::{Value, json};
use time::Duration;

use crate::helpers::*;
use crate::webhook_receiver::Receiver;
use goodword::services::rewards::lifecycle::{self, DueRun};
use goodword::storage::rewards::{self as store, EntryRow, RewardRow};

async fn key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "crm".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = app.client.post(app.url(path)).bearer_auth(key).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let resp = app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Posts event `id` of `kind` for referee `email` through `code`.
async fn event(app: &TestApp, key: &str, id: &str, kind: &str, code: &str, email: &str, amount: Option<i64>) -> Value {
    let mut body = json!({"id": id, "type": kind, "program": "acme", "code": code, "referee": {"email": email}});
    if let Some(amount) = amount {
        body["amount"] = json!(amount);
        body["currency"] = json!("USD");
    }
    let (status, answer) = post(app, key, "/api/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn all_rewards(app: &TestApp) -> Vec<RewardRow> {
    app.state.db.run(|c| store::page(c, &Default::default(), None, 10_000)).await.unwrap()
}

async fn ledger(app: &TestApp, participant: &str) -> Vec<EntryRow> {
    let id = participant.to_string();
    app.state.db.run(move |c| store::entries_for_participant(c, &id)).await.unwrap()
}

async fn run_due(app: &TestApp) -> DueRun {
    lifecycle::run_due(&app.state.db, app.state.webhooks.doorbell(), app.state.clock.now_utc()).await.unwrap()
}

fn credit(label: &str, amount: i64) -> Value {
    json!({"kind": "credit", "amount": amount, "currency": "USD", "label": label})
}

/// A program whose rules are `rewards` (and caps `caps`, if given).
async fn program_with(app: &TestApp, rewards: Value, caps: Option<Value>) -> goodword::services::programs::Program {
    // These tests earn many rewards through one participant.
    let mut extra = json!({"rewards": rewards, "fraud": no_velocity_limits()});
    if let Some(caps) = caps {
        extra["caps"] = caps;
    }
    create_program(app, extra).await
}

fn won_rule(id: &str, to: &str, hold_days: u32, menu: Value) -> Value {
    json!({"id": id, "when": {"stage": "won"}, "to": to, "menu": menu, "hold_days": hold_days,
           "choose_within_days": 30, "use_within_days": 90})
}

#[actix_web::test]
async fn a_won_referral_issues_a_held_reward_that_becomes_available_when_the_hold_ends() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program =
        program_with(&app, json!([won_rule("won", "referrer", 14, json!([credit("$20 credit", 2000)]))]), None).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "lead", &code, "bob@example.org", None).await;
    assert!(all_rewards(&app).await.is_empty(), "a lead earns nothing under a won rule");
    event(&app, &key, "e2", "won", &code, "bob@example.org", Some(9900)).await;

    let rewards = all_rewards(&app).await;
    assert_eq!(rewards.len(), 1);
    let r = &rewards[0];
    assert_eq!(
        (r.status.as_str(), r.participant_id.as_str(), r.beneficiary.as_str()),
        ("pending", jane.as_str(), "referrer")
    );
    let until = goodword::domain::reward::day(app.state.clock.now_utc() + Duration::days(14));
    assert_eq!(r.reason, format!("on hold until {until} — the refund window"));

    // A day before the hold ends nothing moves; after it, the job releases it once.
    app.clock.advance(Duration::days(13));
    assert_eq!(run_due(&app).await, DueRun::default());
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(run_due(&app).await, DueRun { released: 1, expired: 0, reminded: 0 });
    assert_eq!(run_due(&app).await, DueRun::default(), "released once");
    let r = &all_rewards(&app).await[0];
    assert_eq!(r.status, "available");
    assert!(r.reason.starts_with("ready: choose one option before "), "{}", r.reason);
    let kinds: Vec<String> = ledger(&app, &jane).await.into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["available", "issued"], "the ledger, newest first");
}

#[actix_web::test]
async fn stage_tier_referee_and_double_sided_rules_each_issue_once() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let rules = json!([
        {"id": "lead-friend", "when": {"stage": "lead"}, "to": "referee", "hold_days": 0,
         "menu": [{"kind": "percent_off", "percent": 20, "label": "20% off your first year"}]},
        won_rule("won-referrer", "referrer", 0, json!([credit("$20 credit", 2000)])),
        won_rule("won-friend", "referee", 0, json!([{"kind": "amount_off", "amount": 1000, "currency": "USD", "label": "$10 off"}])),
        {"id": "tier-3", "when": {"won_count": 3}, "to": "referrer", "hold_days": 0,
         "menu": [{"kind": "custom", "label": "A year free"}]}
    ]);
    let program = program_with(&app, rules, None).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    for (i, friend) in ["a@example.org", "b@example.org", "c@example.org", "d@example.org"].iter().enumerate() {
        event(&app, &key, &format!("lead-{i}"), "lead", &code, friend, None).await;
        event(&app, &key, &format!("won-{i}"), "won", &code, friend, Some(5000)).await;
        // A retry of the won event and a second won report change nothing.
        event(&app, &key, &format!("won-{i}"), "won", &code, friend, Some(5000)).await;
        event(&app, &key, &format!("won-again-{i}"), "won", &code, friend, Some(5000)).await;
    }
    let rewards = all_rewards(&app).await;
    let count = |rule: &str, to: &str| rewards.iter().filter(|r| r.rule_id == rule && r.beneficiary == to).count();
    assert_eq!(count("lead-friend", "referee"), 4, "one per referee at lead");
    assert_eq!(count("won-referrer", "referrer"), 4, "one per won referral");
    assert_eq!(count("won-friend", "referee"), 4, "the other side of the double-sided reward");
    assert_eq!(count("tier-3", "referrer"), 1, "the third won referral reaches the tier once");
    let tier = rewards.iter().find(|r| r.rule_id == "tier-3").unwrap();
    assert_eq!((tier.tier, tier.participant_id.as_str()), (Some(3), jane.as_str()));
    assert!(rewards.iter().all(|r| r.status == "available"), "hold_days 0: available at once");
}

#[actix_web::test]
async fn a_deal_reported_straight_as_won_earns_the_rules_of_the_stages_it_passed_and_min_amount_counts() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let mut big = won_rule("big-deal", "referrer", 0, json!([credit("$50", 5000)]));
    big["min_amount"] = json!(10_000);
    let rules = json!([
        {"id": "qualified", "when": {"stage": "qualified"}, "to": "referrer", "hold_days": 0, "menu": [credit("$5", 500)]},
        big
    ]);
    let program = program_with(&app, rules, None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "small", "won", &code, "small@example.org", Some(9_999)).await;
    event(&app, &key, "large", "won", &code, "large@example.org", Some(10_000)).await;
    let rewards = all_rewards(&app).await;
    let ids: Vec<&str> = rewards.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids.iter().filter(|i| **i == "qualified").count(), 2, "both passed qualified");
    assert_eq!(ids.iter().filter(|i| **i == "big-deal").count(), 1, "only the deal at the minimum");
}

/// A program whose won reward offers one option of every kind, hold 0.
async fn every_kind_program(app: &TestApp) -> goodword::services::programs::Program {
    let menu = json!([
        {"kind": "coupon", "pool": "spring", "label": "25% off one year"},
        {"kind": "percent_off", "percent": 15, "label": "15% off"},
        {"kind": "amount_off", "amount": 1500, "currency": "USD", "label": "$15 off"},
        credit("$20 credit", 2000),
        {"kind": "cash", "amount": 1000, "currency": "USD", "label": "$10 cash"},
        {"kind": "custom", "label": "A T-shirt"}
    ]);
    program_with(
        app,
        json!([won_rule("won", "referrer", 0, menu)]),
        Some(json!({"per_participant_per_year": {"count": 100, "amount": null}})),
    )
    .await
}

#[actix_web::test]
async fn each_menu_kind_is_chosen_and_fulfilled_and_a_coupon_comes_with_its_code() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = every_kind_program(&app).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (status, added) = post(
        &app,
        &key,
        "/api/v1/programs/acme/coupons",
        json!({"pool": "spring", "codes": ["SPRING-1", "SPRING-2", "SPRING-1"]}),
    )
    .await;
    assert_eq!((status, added["added"].as_u64(), added["free"].as_i64()), (200, Some(2), Some(2)), "{added}");
    for i in 0..6 {
        event(&app, &key, &format!("won-{i}"), "won", &code, &format!("f{i}@example.org"), Some(5000)).await;
    }
    let rewards = all_rewards(&app).await;
    assert_eq!(rewards.len(), 6);
    let kinds = ["coupon", "percent_off", "amount_off", "credit", "cash", "custom"];
    for (option, reward) in rewards.iter().enumerate() {
        let (status, chosen) =
            post(&app, &key, &format!("/api/v1/rewards/{}/choose", reward.id), json!({"option": option})).await;
        assert_eq!(status, 200, "{chosen}");
        assert_eq!(chosen["chosen"]["kind"], kinds[option]);
        if kinds[option] == "coupon" {
            assert_eq!(
                (chosen["status"].as_str(), chosen["chosen"]["coupon_code"].as_str()),
                (Some("fulfilled"), Some("SPRING-1"))
            );
            assert!(chosen["use_by"].is_string(), "a coupon has a use-by date");
            let (again, _) = post(&app, &key, &format!("/api/v1/rewards/{}/fulfil", reward.id), json!({})).await;
            assert_eq!(again, 409, "a coupon is fulfilled when chosen");
            continue;
        }
        assert_eq!(chosen["status"], "chosen");
        let (status, done) = post(
            &app,
            &key,
            &format!("/api/v1/rewards/{}/fulfil", reward.id),
            json!({"reference": format!("inv-{option}")}),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            (done["status"].as_str(), done["fulfilment_reference"].as_str()),
            (Some("fulfilled"), Some(format!("inv-{option}").as_str()))
        );
        let (twice, body) = post(&app, &key, &format!("/api/v1/rewards/{}/fulfil", reward.id), json!({})).await;
        assert_eq!(
            (twice, body["error"]["message"].as_str().unwrap_or_default().contains("fulfilled already")),
            (409, true),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn choosing_twice_is_refused_and_choosing_after_expiry_is_refused() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let mut rule = won_rule("won", "referrer", 0, json!([credit("$20", 2000), {"kind": "custom", "label": "Mug"}]));
    rule["choose_within_days"] = json!(7);
    let program = program_with(&app, json!([rule]), None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "w1", "won", &code, "a@example.org", None).await;
    event(&app, &key, "w2", "won", &code, "b@example.org", None).await;
    let rewards = all_rewards(&app).await;
    let path = |r: &RewardRow| format!("/api/v1/rewards/{}/choose", r.id);

    let (first, _) = post(&app, &key, &path(&rewards[0]), json!({"option": 1})).await;
    let (second, body) = post(&app, &key, &path(&rewards[0]), json!({"option": 0})).await;
    assert_eq!((first, second), (200, 409), "{body}");
    let (bad, body) = post(&app, &key, &path(&rewards[1]), json!({"option": 5})).await;
    assert_eq!((bad, body["error"]["fields"][0]["field"].as_str()), (422, Some("option")), "{body}");

    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let (late, body) = post(&app, &key, &path(&rewards[1]), json!({"option": 0})).await;
    assert_eq!(late, 409, "past the choose-by date even before the job ran: {body}");
    assert_eq!(run_due(&app).await, DueRun { released: 0, expired: 1, reminded: 0 });
    let expired = store::find(&mut app.state.db.get().unwrap(), &rewards[1].id).unwrap().unwrap();
    assert_eq!(expired.status, "expired");
    assert!(expired.reason.starts_with("expired: no option was chosen by "), "{}", expired.reason);
    let (after, body) = post(&app, &key, &path(&rewards[1]), json!({"option": 0})).await;
    assert!(after == 409 && body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");
    let chosen = store::find(&mut app.state.db.get().unwrap(), &rewards[0].id).unwrap().unwrap();
    assert_eq!(chosen.chosen_label.as_deref(), Some("Mug"), "the first choice stands");
}

#[actix_web::test]
async fn a_refund_inside_the_hold_revokes_and_a_refund_after_fulfilment_records_a_clawback() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program =
        program_with(&app, json!([won_rule("won", "referrer", 30, json!([credit("$20", 2000)]))]), None).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "w1", "won", &code, "early@example.org", Some(5000)).await;
    event(&app, &key, "r1", "refund", &code, "early@example.org", None).await;
    let r = &all_rewards(&app).await[0];
    assert_eq!(
        (r.status.as_str(), r.reason.as_str()),
        ("revoked", "revoked: the purchase was refunded within the refund window")
    );

    event(&app, &key, "w2", "won", &code, "late@example.org", Some(5000)).await;
    app.clock.advance(Duration::days(31));
    run_due(&app).await;
    let late = all_rewards(&app).await.into_iter().find(|r| r.status == "available").expect("released");
    let (_, chosen) = post(&app, &key, &format!("/api/v1/rewards/{}/choose", late.id), json!({"option": 0})).await;
    assert_eq!(chosen["status"], "chosen");
    let (_, done) =
        post(&app, &key, &format!("/api/v1/rewards/{}/fulfil", late.id), json!({"reference": "credit-77"})).await;
    assert_eq!(done["status"], "fulfilled");
    event(&app, &key, "r2", "refund", &code, "late@example.org", None).await;
    let after = store::find(&mut app.state.db.get().unwrap(), &late.id).unwrap().unwrap();
    assert_eq!(after.status, "fulfilled", "what was delivered stays delivered");
    assert!(after.clawback_at.is_some());
    let clawbacks: Vec<EntryRow> = ledger(&app, &jane).await.into_iter().filter(|e| e.kind == "clawback").collect();
    assert_eq!(clawbacks.len(), 1);
    assert!(clawbacks[0].note.contains("refunded after the refund window"), "{}", clawbacks[0].note);
    let (_, listed) =
        get_json(&app, &key, &format!("/api/v1/rewards?program=acme&participant={jane}&status=fulfilled")).await;
    assert!(listed["data"][0]["clawback_at"].is_string(), "{listed}");
}

#[actix_web::test]
async fn caps_per_participant_by_count_and_amount_and_per_program_in_total() {
    let app = spawn_app().await;
    let key = key(&app).await;
    // Count: 2 a year per participant.
    let program = program_with(
        &app,
        json!([won_rule("won", "referrer", 0, json!([credit("$20", 2000)]))]),
        Some(json!({"per_participant_per_year": {"count": 2, "amount": 5000}, "program_total": {"count": 3, "amount": null}})),
    )
    .await;
    let (_, jane) = {
        let (id, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
        (id, code)
    };
    for i in 0..3 {
        event(&app, &key, &format!("j{i}"), "won", &jane, &format!("j{i}@example.org"), None).await;
    }
    let statuses: Vec<String> = all_rewards(&app).await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| *s == "available").count(), 2);
    let capped = all_rewards(&app).await.into_iter().find(|r| r.status == "capped").expect("the third is capped");
    assert_eq!(capped.reason, "not issued: this year's limit of rewards per participant (2 rewards) is reached");

    // Next year the participant's count starts again, but the program's total (3) stops the second.
    app.clock.advance(Duration::days(366));
    let (_, ann) = {
        let (id, code, _) = enrol(&app, &program, "ann@example.com", "Ann Lee").await;
        (id, code)
    };
    event(&app, &key, "a1", "won", &ann, "a1@example.org", None).await;
    event(&app, &key, "a2", "won", &ann, "a2@example.org", None).await;
    let rewards = all_rewards(&app).await;
    assert_eq!(rewards.iter().filter(|r| r.status != "capped").count(), 3, "the program total holds");
    let second_year = app.state.clock.now_utc();
    let capped: Vec<&RewardRow> =
        rewards.iter().filter(|r| r.created_at == second_year && r.status == "capped").collect();
    assert_eq!(capped.len(), 1);
    assert!(capped[0].reason.contains("the program's total limit"), "{}", capped[0].reason);
}

#[actix_web::test]
async fn an_amount_cap_stops_the_reward_that_would_exceed_it() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = program_with(
        &app,
        json!([won_rule(
            "won",
            "referrer",
            0,
            json!([credit("$20", 2000), {"kind": "cash", "amount": 3000, "currency": "USD", "label": "$30"}])
        )]),
        Some(json!({"per_participant_per_year": {"count": null, "amount": 7000}})),
    )
    .await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    for i in 0..3 {
        event(&app, &key, &format!("w{i}"), "won", &code, &format!("f{i}@example.org"), None).await;
    }
    let mut statuses: Vec<String> = all_rewards(&app).await.into_iter().map(|r| r.status).collect();
    statuses.sort();
    // Each reward may cost its largest option (30.00): two fit in 70.00, a third would not.
    assert_eq!(statuses, ["available", "available", "capped"]);
}

#[actix_web::test]
async fn fifty_concurrent_duplicate_triggers_on_two_servers_give_one_reward() {
    let app = spawn_app().await;
    let other = spawn_app_beside(&app, |_| {}).await;
    let key = key(&app).await;
    let program = program_with(&app, json!([won_rule("won", "referrer", 0, json!([credit("$20", 2000)]))]), None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "lead", "lead", &code, "bob@example.org", None).await;
    // Fifty different event ids all report the same referral won, at once,
    // through two servers.
    let posts = (0..50).map(|i| {
        let body = json!({"id": format!("won-{i}"), "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}});
        // Half to each server, as a load balancer would spread them.
        post(if i % 2 == 0 { &app } else { &other }, &key, "/api/v1/events", body)
    });
    let answers = futures_util::future::join_all(posts).await;
    assert!(answers.iter().all(|(s, _)| *s == 200));
    assert_eq!(all_rewards(&app).await.len(), 1);
}

#[actix_web::test]
async fn thirty_concurrent_events_on_two_servers_against_a_cap_of_ten_issue_exactly_ten() {
    let app = spawn_app().await;
    let other = spawn_app_beside(&app, |_| {}).await;
    let key = key(&app).await;
    let program = program_with(
        &app,
        json!([won_rule("won", "referrer", 0, json!([credit("$20", 2000)]))]),
        Some(json!({"per_participant_per_year": {"count": 10, "amount": null}})),
    )
    .await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let posts = (0..30).map(|i| {
        let body = json!({"id": format!("won-{i}"), "type": "won", "program": "acme", "code": code,
                          "referee": {"email": format!("friend{i}@example.org")}});
        // Half to each server, as a load balancer would spread them.
        post(if i % 2 == 0 { &app } else { &other }, &key, "/api/v1/events", body)
    });
    let answers = futures_util::future::join_all(posts).await;
    assert!(answers.iter().all(|(s, _)| *s == 200));
    let rewards = all_rewards(&app).await;
    assert_eq!(rewards.len(), 30, "every trigger is recorded");
    assert_eq!(rewards.iter().filter(|r| r.status == "available").count(), 10);
    assert_eq!(rewards.iter().filter(|r| r.status == "capped").count(), 20);
}

#[actix_web::test]
async fn two_servers_handing_out_one_coupon_pool_never_share_a_code() {
    let first = spawn_app().await;
    let second = spawn_app_beside(&first, |_| {}).await;
    let key = key(&first).await;
    let menu = json!([{"kind": "coupon", "pool": "spring", "label": "25% off"}]);
    let program = program_with(
        &first,
        json!([won_rule("won", "referrer", 0, menu)]),
        Some(json!({"per_participant_per_year": {"count": null, "amount": null}})),
    )
    .await;
    let (_, code, _) = enrol(&first, &program, "jane@example.com", "Jane Doe").await;
    let codes: Vec<String> = (0..15).map(|i| format!("CODE-{i:02}")).collect();
    let (status, _) =
        post(&first, &key, "/api/v1/programs/acme/coupons", json!({"pool": "spring", "codes": codes})).await;
    assert_eq!(status, 200);
    for i in 0..20 {
        event(&first, &key, &format!("w{i}"), "won", &code, &format!("f{i}@example.org"), None).await;
    }
    let rewards = all_rewards(&first).await;
    let chooses = rewards.iter().enumerate().map(|(i, r)| {
        let app = if i % 2 == 0 { &first } else { &second };
        let (path, key) = (format!("/api/v1/rewards/{}/choose", r.id), key.clone());
        async move { post(app, &key, &path, json!({"option": 0})).await }
    });
    let answers = futures_util::future::join_all(chooses).await;
    let mut handed: Vec<String> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b["chosen"]["coupon_code"].as_str().unwrap().to_string())
        .collect();
    let refused = answers.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!((handed.len(), refused), (15, 5), "15 codes for 20 rewards");
    handed.sort();
    handed.dedup();
    assert_eq!(handed.len(), 15, "no code handed out twice");
    let pools = goodword::services::rewards::pools(&first.state.db, &program.id, vec![]).await.unwrap();
    assert_eq!((pools[0].free, pools[0].is_low()), (0, true));
    // The refused ones are still available: more codes and they can choose.
    let still = all_rewards(&first).await.into_iter().filter(|r| r.status == "available").count();
    assert_eq!(still, 5);
}

#[actix_web::test]
async fn the_participant_chooses_in_the_portal_with_csrf_and_sees_the_code() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let menu = json!([{"kind": "coupon", "pool": "spring", "label": "25% off one year"}, credit("$20 credit", 2000)]);
    let program = program_with(&app, json!([won_rule("won", "referrer", 0, menu)]), None).await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    post(&app, &key, "/api/v1/programs/acme/coupons", json!({"pool": "spring", "codes": ["WELCOME-42"]})).await;
    event(&app, &key, "w1", "won", &code, "bob.smith@example.org", None).await;
    let reward = all_rewards(&app).await.remove(0);

    let portal = format!("/p/{token}");
    let first_page = app.get(&portal).await.text().await.unwrap();
    let html = first_page.clone();
    assert!(html.contains("Ready to choose") && html.contains("25% off one year"), "the menu is shown");
    let action = format!("/p/{token}/rewards/{}", reward.id);
    assert!(html.contains(&format!("action=\"{action}\"")));

    // Without the token: refused, nothing chosen.
    let forged =
        app.client.post(app.url(&action)).header("Origin", &app.address).form(&[("option", "0")]).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let resp = app.submit(&app.client, &portal, &action, &[("option", "0")]).await;
    assert_eq!(resp.status(), 303);
    let html = app.get(&portal).await.text().await.unwrap();
    assert!(html.contains("<code class=\"coupon\">WELCOME-42</code>"), "the code is shown");
    assert!(html.contains("Use by"));

    // Choosing again from a stale page is answered beside the reward.
    let stale = [("csrf_token", csrf_in(&first_page)), ("option", "1".to_string())];
    let again = app.client.post(app.url(&action)).header("Origin", &app.address).form(&stale).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("This reward was chosen already"));
}

#[actix_web::test]
async fn the_rewards_api_filters_and_pages_and_refuses_bad_input_by_field() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let program = program_with(&app, json!([won_rule("won", "referrer", 5, json!([credit("$20", 2000)]))]), None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    for i in 0..5 {
        event(&app, &key, &format!("w{i}"), "won", &code, &format!("f{i}@example.org"), None).await;
    }
    let (_, first) = get_json(&app, &key, "/api/v1/rewards?program=acme&status=pending&limit=3").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    assert_eq!(first["data"][0]["reason"].as_str().map(|r| r.starts_with("on hold until")), Some(true));
    let next = first["next"].as_str().expect("a next cursor");
    let (_, second) =
        get_json(&app, &key, &format!("/api/v1/rewards?program=acme&status=pending&limit=3&cursor={next}")).await;
    assert_eq!((second["data"].as_array().unwrap().len(), second["next"].is_null()), (2, true));
    let (_, theirs) = get_json(&app, &key, "/api/v1/rewards?program=acme&to=referee").await;
    assert!(theirs["data"].as_array().unwrap().is_empty(), "no referee rewards in this program");
    let (_, none) = get_json(&app, &key, "/api/v1/rewards?status=available").await;
    assert!(none["data"].as_array().unwrap().is_empty());

    let (status, body) = get_json(&app, &key, "/api/v1/rewards?status=lost&program=nope").await;
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!((status, fields), (422, vec!["program", "status"]));
    let (status, body) =
        post(&app, &key, "/api/v1/programs/acme/coupons", json!({"pool": "spring sale", "codes": ["ok", "not ok"]}))
            .await;
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!((status, fields), (422, vec!["pool", "codes[1]"]));
    let (status, _) = post(&app, &key, "/api/v1/programs/nope/coupons", json!({"pool": "a", "codes": ["x"]})).await;
    assert_eq!(status, 404);
    let (status, _) = post(&app, &key, "/api/v1/rewards/nope/fulfil", json!({})).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn reward_webhooks_arrive_for_issue_availability_choice_expiry_and_revocation() {
    let app = spawn_app_with(|s| s.allow_private_webhooks = true).await;
    app.setup_owner().await;
    let receiver = Receiver::start(&[]).await;
    let types = ["reward.issued", "reward.available", "reward.chosen", "reward.expired", "reward.revoked"];
    let mut fields = vec![("url", receiver.url.as_str()), ("description", "CRM")];
    fields.extend(types.iter().map(|t| ("event_types", *t)));
    let resp = app.submit(&app.client, "/admin/webhooks", "/admin/webhooks", &fields).await;
    assert_eq!(resp.status(), 201);
    let key = key(&app).await;
    let mut rule = won_rule("won", "referrer", 3, json!([credit("$20", 2000)]));
    rule["choose_within_days"] = json!(2);
    let program = program_with(&app, json!([rule]), None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "w1", "won", &code, "a@example.org", None).await; // issued → available → chosen
    event(&app, &key, "w2", "won", &code, "b@example.org", None).await; // issued → available → expired
    event(&app, &key, "w3", "won", &code, "c@example.org", None).await; // issued → revoked
    event(&app, &key, "r3", "refund", &code, "c@example.org", None).await;
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    run_due(&app).await;
    let first = all_rewards(&app).await.into_iter().find(|r| r.status == "available").unwrap();
    post(&app, &key, &format!("/api/v1/rewards/{}/choose", first.id), json!({"option": 0})).await;
    app.clock.advance(Duration::days(2));
    assert_eq!(run_due(&app).await.expired, 1);

    let received = receiver.wait_for(8).await;
    let mut seen: Vec<String> = received.iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    seen.sort();
    let expected = [
        "reward.available",
        "reward.available",
        "reward.chosen",
        "reward.expired",
        "reward.issued",
        "reward.issued",
        "reward.issued",
        "reward.revoked",
    ];
    assert_eq!(seen, expected);
    let chosen = received.iter().map(|r| r.json()).find(|b| b["type"] == "reward.chosen").unwrap();
    assert_eq!(
        (chosen["data"]["program"].as_str(), chosen["data"]["chosen"]["label"].as_str()),
        (Some("acme"), Some("$20"))
    );
}

#[actix_web::test]
async fn a_referee_chooses_their_reward_on_its_private_page() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let menu = json!([{"kind": "percent_off", "percent": 20, "label": "20% off your first year"}, {"kind": "custom", "label": "A welcome mug"}]);
    let rules = json!([
        {"id": "friend", "when": {"stage": "lead"}, "to": "referee", "hold_days": 0, "menu": menu},
        {"id": "sharer", "when": {"stage": "won"}, "to": "referrer", "hold_days": 0, "menu": [credit("$20", 2000)]}
    ]);
    let program = program_with(&app, rules, None).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "l1", "lead", &code, "bob@example.org", None).await;
    let (_, listed) = get_json(&app, &key, "/api/v1/rewards?program=acme").await;
    let reward = &listed["data"][0];
    assert_eq!(
        (reward["to"].as_str(), reward["referee"]["email"].as_str()),
        (Some("referee"), Some("bob@example.org"))
    );
    let page_url = reward["page_url"].as_str().expect("a referee reward has a page").to_string();
    let path = page_url.strip_prefix(&app.address).expect("on this site").to_string();
    let (_, one) = get_json(&app, &key, &format!("/api/v1/rewards/{}", reward["id"].as_str().unwrap())).await;
    assert_eq!(one["page_url"], reward["page_url"]);

    let html = app.get(&path).await.text().await.unwrap();
    assert!(html.contains("A welcome mug") && html.contains("Ready to choose"));
    let resp = app.submit(&app.client, &path, &path, &[("option", "1")]).await;
    assert_eq!(resp.status(), 303);
    let html = app.get(&path).await.text().await.unwrap();
    assert!(html.contains("You chose: A welcome mug"), "{html}");

    // A forged signature or a referrer's reward id does not open a page.
    let (id, _) = path.trim_start_matches("/rewards/").split_once('.').unwrap();
    assert_eq!(app.get(&format!("/rewards/{id}.forged")).await.status(), 404);
    assert_eq!(app.get("/rewards/nothing-here").await.status(), 404);
}

#[actix_web::test]
async fn the_participant_api_lists_their_own_rewards() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let rules = json!([
        won_rule("won", "referrer", 0, json!([credit("$20", 2000)])),
        won_rule("friend", "referee", 0, json!([credit("$10", 1000)]))
    ]);
    program_with(&app, rules, None).await;
    let (status, jane) = post(
        &app,
        &key,
        "/api/v1/programs/acme/participants",
        json!({"email": "jane@example.com", "name": "Jane", "external_id": "crm-9"}),
    )
    .await;
    assert_eq!(status, 201);
    event(&app, &key, "w1", "won", jane["code"].as_str().unwrap(), "bob@example.org", None).await;
    let (_, shown) = get_json(&app, &key, "/api/v1/programs/acme/participants/crm-9").await;
    let rewards = shown["rewards"].as_array().unwrap();
    assert_eq!(rewards.len(), 1, "the referee's reward is not hers: {shown}");
    assert_eq!(
        (rewards[0]["status"].as_str(), rewards[0]["participant"]["external_id"].as_str()),
        (Some("available"), Some("crm-9"))
    );
}

#[actix_web::test]
async fn the_demo_issues_rewards_on_both_sides_and_seeds_them_once() {
    let app = spawn_app().await;
    let now = app.state.clock.now_utc();
    let demo = goodword::services::demo::seed(&app.state.db, &app.state.keys, now).await.unwrap();
    let first = all_rewards(&app).await;
    assert!(first.iter().any(|r| r.beneficiary == "referee"), "the referee side of the program");
    // The welcome reward has no hold; whether a won deal's reward is still
    // held depends on the demo's random dates, so only "available" is sure.
    assert!(first.iter().any(|r| r.beneficiary == "referee" && r.status == "available"));
    goodword::services::demo::seed(&app.state.db, &app.state.keys, now).await.unwrap();
    assert_eq!(all_rewards(&app).await.len(), first.len(), "a second run adds nothing");
    let portal = app.get(&format!("/p/{}", demo.portal_token)).await;
    assert_eq!(portal.status(), 200);
    let waiting = goodword::services::fraud::review::waiting(&app.state.db).await.unwrap();
    assert_eq!(waiting, 2, "two referrals wait in the review queue, once");
}
