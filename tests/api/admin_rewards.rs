//! The admin side of rewards: the list and its filters, a reward's page
//! with approve early, revoke with a reason and mark paid, the CSV export,
//! coupon pools with uploads and the low-stock warning, the ledger on the
//! participant page, and the reward rules editor with its field errors.

use goodword::domain::Role;
use goodword::services::programs;
use goodword::services::rewards::{self, lifecycle};
use goodword::storage::rewards::{RewardFilter, RewardRow};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;

async fn key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "crm".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

/// Posts a conversion event of `kind` for the referee `email` (named
/// `name`) through `code`.
async fn event(app: &TestApp, key: &str, id: &str, kind: &str, code: &str, email: &str, name: &str) {
    let body = json!({"id": id, "type": kind, "program": "acme", "code": code,
                      "referee": {"email": email, "name": name}});
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
}

fn rule(id: &str, stage: &str, to: &str, hold_days: u32, menu: Value) -> Value {
    json!({"id": id, "when": {"stage": stage}, "to": to, "hold_days": hold_days, "menu": menu})
}

fn cash() -> Value {
    json!([{"kind": "cash", "amount": 2000, "currency": "USD", "label": "$20 cash"}])
}

fn custom() -> Value {
    json!([{"kind": "custom", "label": "A mug"}])
}

async fn all_rewards(app: &TestApp) -> Vec<RewardRow> {
    rewards::rows(&app.state.db, RewardFilter::default(), None, 1000).await.unwrap().0
}

/// The one reward of rule `rule_id`.
async fn reward_of(app: &TestApp, rule_id: &str) -> RewardRow {
    all_rewards(app).await.into_iter().find(|r| r.rule_id == rule_id).expect("the rule issued a reward")
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let resp = get_with(client, &app.url(path)).await;
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// How many rewards a list page shows: one link to a reward per row.
fn rows_in(html: &str) -> usize {
    html.matches("<a href=\"/admin/rewards/").count()
}

/// An owner signed in (as `app.client`), an API key, and `acme` with `rules`.
async fn setup(rules: Value) -> (TestApp, String, programs::Program) {
    let app = spawn_app().await;
    app.setup_owner().await;
    let key = key(&app).await;
    let program = create_program(&app, json!({"rewards": rules})).await;
    (app, key, program)
}

#[actix_web::test]
async fn the_list_filters_by_program_status_kind_participant_and_clawbacks() {
    let (app, key, program) =
        setup(json!([rule("won", "won", "referrer", 30, cash()), rule("welcome", "lead", "referee", 0, custom())]))
            .await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (ann, ann_code, _) = enrol(&app, &program, "ann@example.com", "Ann Lee").await;
    // Bob (through Jane) is won: Jane's held cash reward and Bob's welcome.
    event(&app, &key, "e1", "won", &jane_code, "bob@example.org", "Bob Stone").await;
    // Carl (through Ann) is a lead: Carl's welcome.
    event(&app, &key, "e2", "lead", &ann_code, "carl@example.org", "Carl Ray").await;

    let (status, html) = page(&app, &app.client, "/admin/rewards").await;
    assert_eq!(status, 200);
    assert_eq!(rows_in(&html), 3, "{html}");
    assert!(html.contains("Jane Doe") && html.contains("Bob Stone") && html.contains("the referral of Carl Ray"));
    assert!(html.contains("on hold until"), "the reason is shown in plain words");

    for (query, expected) in [
        ("?program=acme", 3),
        ("?status=pending", 1),
        ("?status=available", 2),
        ("?kind=cash", 1),
        ("?kind=custom", 2),
        ("?kind=coupon", 0),
        (&format!("?participant={ann}") as &str, 1),
        (&format!("?participant={jane}&status=pending") as &str, 1),
        ("?clawback=1", 0),
    ] {
        let (_, html) = page(&app, &app.client, &format!("/admin/rewards{query}")).await;
        assert_eq!(rows_in(&html), expected, "{query}");
    }

    // Bob's purchase is refunded: Jane's held reward is revoked, Bob's
    // welcome (already available) is left as a clawback to follow up.
    event(&app, &key, "e3", "refund", &jane_code, "bob@example.org", "Bob Stone").await;
    let (_, html) = page(&app, &app.client, "/admin/rewards?clawback=1").await;
    assert_eq!(rows_in(&html), 1);
    assert!(html.contains("row--clawback") && html.contains(">clawback<"), "{html}");
    let (_, html) = page(&app, &app.client, "/admin/rewards?program=acme&status=revoked").await;
    assert_eq!(rows_in(&html), 1);
    assert!(html.contains("refunded within the refund window"));

    // The program page counts them and leads to the filtered list.
    let (_, html) = page(&app, &app.client, "/admin/programs/acme").await;
    assert!(html.contains("/admin/rewards?program=acme&#38;status=revoked"), "{html}");
    assert!(html.contains("/admin/programs/acme/coupons"));
}

#[actix_web::test]
async fn approving_a_held_reward_early_makes_it_available_once() {
    let (app, key, program) = setup(json!([rule("won", "won", "referrer", 30, cash())])).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "Bob Stone").await;
    let reward = reward_of(&app, "won").await;
    let path = format!("/admin/rewards/{}", reward.id);
    let (_, html) = page(&app, &app.client, &path).await;
    assert!(html.contains("Approve early"));

    let resp = app.submit(&app.client, &path, &format!("{path}/approve"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), path);
    assert_eq!(reward_of(&app, "won").await.status, "available");
    let (_, html) = page(&app, &app.client, &path).await;
    assert!(html.contains("released early by the team"), "{html}");
    assert!(html.contains("approved") && html.contains(OWNER_EMAIL), "the ledger names the admin");
    let (_, audit) = page(&app, &app.client, "/admin/audit").await;
    assert!(audit.contains("reward.approved_early"), "{audit}");

    // A second approval is refused on the page, not with a server error.
    let resp = app.submit(&app.client, &path, &format!("{path}/approve"), &[]).await;
    assert_eq!(resp.status(), 409);
    let html = resp.text().await.unwrap();
    assert!(html.contains("only a held reward can be released early"), "{html}");
}

#[actix_web::test]
async fn revoking_needs_a_reason_which_the_participant_then_reads() {
    let (app, key, program) = setup(json!([rule("won", "won", "referrer", 30, cash())])).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "Bob Stone").await;
    let reward = reward_of(&app, "won").await;
    let path = format!("/admin/rewards/{}", reward.id);

    let resp = app.submit(&app.client, &path, &format!("{path}/revoke"), &[("reason", "  ")]).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    let error = extract(&html, "id=\"reason-error\">", "</p>").expect("an error beside the reason");
    assert!(error.contains("say why"), "{error}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(reward_of(&app, "won").await.status, "pending", "nothing changed");

    let resp = app.submit(&app.client, &path, &format!("{path}/revoke"), &[("reason", "the same person twice")]).await;
    assert_eq!(resp.status(), 303);
    let revoked = reward_of(&app, "won").await;
    assert_eq!(
        (revoked.status.as_str(), revoked.reason.as_str()),
        ("revoked", "revoked by the team: the same person twice")
    );
    let (_, audit) = page(&app, &app.client, "/admin/audit").await;
    assert!(audit.contains("reward.revoked"));

    // Revoked is final: a second revoke comes back as a message on the page.
    let resp = app.submit(&app.client, &path, &format!("{path}/revoke"), &[("reason", "again")]).await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("only a reward not yet delivered can be revoked"));
}

#[actix_web::test]
async fn a_chosen_cash_reward_is_marked_paid_with_its_reference() {
    let (app, key, program) = setup(json!([rule("won", "won", "referrer", 0, cash())])).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "Bob Stone").await;
    let reward = reward_of(&app, "won").await;
    let now = app.state.clock.now_utc();
    lifecycle::choose(&app.state.db, app.state.webhooks.doorbell(), &reward.id, 0, "participant", now).await.unwrap();
    let path = format!("/admin/rewards/{}", reward.id);
    let (_, html) = page(&app, &app.client, &path).await;
    assert!(html.contains("Mark paid") && html.contains("Payment reference"), "{html}");

    let resp = app.submit(&app.client, &path, &format!("{path}/fulfil"), &[("reference", "")]).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(extract(&html, "id=\"reference-error\">", "</p>").is_some_and(|e| e.contains("payment reference")));

    let resp = app.submit(&app.client, &path, &format!("{path}/fulfil"), &[("reference", "payout tx-42")]).await;
    assert_eq!(resp.status(), 303);
    let paid = reward_of(&app, "won").await;
    assert_eq!((paid.status.as_str(), paid.fulfilment_reference.as_deref()), ("fulfilled", Some("payout tx-42")));
    let (_, html) = page(&app, &app.client, &path).await;
    assert!(html.contains("Marked paid") && html.contains("payout tx-42"), "{html}");
    assert!(!html.contains("Mark paid</button>"), "nothing is left to mark");
    let (_, audit) = page(&app, &app.client, "/admin/audit").await;
    assert!(audit.contains("reward.fulfilled"));
}

#[actix_web::test]
async fn viewers_read_rewards_but_cannot_act_on_them() {
    let (app, key, program) = setup(json!([rule("won", "won", "referrer", 30, cash())])).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "Bob Stone").await;
    let reward = reward_of(&app, "won").await;
    app.create_user("viewer@example.com", Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    let path = format!("/admin/rewards/{}", reward.id);
    let (status, html) = page(&app, &viewer, &path).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Approve early"), "no buttons for a viewer");
    let resp = app.submit(&viewer, &path, &format!("{path}/approve"), &[]).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(page(&app, &viewer, "/admin/rewards.csv").await.0, 200);
    assert_eq!(page(&app, &viewer, "/admin/programs/acme/rewards").await.0, 403);
    assert_eq!(reward_of(&app, "won").await.status, "pending");
}

#[actix_web::test]
async fn the_csv_export_has_every_matching_reward_quoted_and_defused() {
    let (app, key, program) =
        setup(json!([rule("won", "won", "referrer", 30, cash()), rule("welcome", "lead", "referee", 0, custom())]))
            .await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Lee, Jane").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "=HYPERLINK(\"http://evil.example\")").await;
    event(&app, &key, "e2", "lead", &code, "carl@example.org", "Carl Ray").await;

    let resp = app.get("/admin/rewards.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let body = resp.text().await.unwrap();
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 3, "a header and three rewards:\n{body}");
    assert!(lines[0].starts_with("id,program,rule_id,to,participant_id,participant_name,participant_email,"));
    assert!(body.contains(",\"Lee, Jane\",jane@example.com,"), "{body}");
    assert!(body.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "a formula becomes text: {body}");
    assert!(!body.contains(",=HYPERLINK"), "{body}");
    assert!(body.contains(",2000,") && body.contains("$20 cash"));

    // The same filters as the list.
    let pending = app.get("/admin/rewards.csv?status=pending").await.text().await.unwrap();
    assert_eq!(pending.split("\r\n").filter(|l| !l.is_empty()).count(), 2, "{pending}");
    assert!(pending.contains(",won,referrer,"));
    let list = app.get("/admin/rewards?status=pending").await.text().await.unwrap();
    assert!(list.contains("/admin/rewards.csv?status=pending"), "the list links to its own selection");
}

/// Adds codes to `pool` as the upload form does, from a file and a text box.
async fn upload(app: &TestApp, pool: &str, file: Option<&str>, typed: &str) -> reqwest::Response {
    let html = app.get("/admin/programs/acme/coupons").await.text().await.unwrap();
    let mut form =
        Form::new().text("csrf_token", csrf_in(&html)).text("pool", pool.to_string()).text("codes", typed.to_string());
    if let Some(file) = file {
        form = form
            .part("file", Part::bytes(file.as_bytes().to_vec()).file_name("codes.csv").mime_str("text/csv").unwrap());
    }
    app.client
        .post(app.url("/admin/programs/acme/coupons"))
        .header("Origin", &app.address)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn coupon_uploads_report_what_was_added_and_a_low_pool_is_flagged() {
    let (app, _, program) = setup(json!([rule(
        "won",
        "won",
        "referrer",
        0,
        json!([{"kind": "coupon", "pool": "spring", "label": "25% off"}])
    )]))
    .await;
    let html = app.get("/admin/programs/acme/coupons").await.text().await.unwrap();
    assert!(
        html.contains("<code>spring</code>") && html.contains(">empty<"),
        "a named pool shows before any code: {html}"
    );
    assert!(html.contains("Running low"));

    let resp = upload(&app, "spring", Some("code,note\nA1,first\nA2\nA2\n"), "B1\n").await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap_or_default());
    let html = app.get("/admin/programs/acme/coupons").await.text().await.unwrap();
    assert!(
        html.contains(
            "Added 3 codes to the pool “spring”; skipped 1 (0 already in the pool, 1 repeated in the upload)."
        ),
        "{html}"
    );
    assert!(html.contains("low: 3 left") && html.contains("Running low"), "{html}");

    // The same codes again add nothing.
    upload(&app, "spring", Some("A1\nA2\n"), "").await;
    let html = app.get("/admin/programs/acme/coupons").await.text().await.unwrap();
    assert!(html.contains("Added 0 codes to the pool “spring”; skipped 2 (2 already in the pool"), "{html}");

    // Enough codes and the warning goes.
    let many: String = (0..40).map(|i| format!("SPRING-{i}\n")).collect();
    assert_eq!(upload(&app, "spring", None, &many).await.status(), 303);
    let html = app.get("/admin/programs/acme/coupons").await.text().await.unwrap();
    assert!(!html.contains("Running low") && html.contains(">enough<"), "{html}");

    // A bad code is named with its line; nothing of that upload is added.
    let resp = upload(&app, "spring", Some("OK-1\nhas space\n"), "").await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    let error = extract(&html, "id=\"codes-error\">", "</p>").expect("an error beside the codes");
    assert!(error.contains("line 2 of codes.csv") && error.contains("has space"), "{error}");
    let resp = upload(&app, "spring sale", None, "X1").await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"pool-error\""));
    let pools = rewards::pools(&app.state.db, &program.id, vec![]).await.unwrap();
    assert_eq!((pools[0].total, pools[0].free), (43, 43));
}

#[actix_web::test]
async fn the_participant_page_shows_their_rewards_and_ledger_with_the_clawback_apart() {
    let (app, key, program) = setup(json!([rule("won", "won", "referrer", 0, custom())])).await;
    let (jane, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    event(&app, &key, "e1", "won", &code, "bob@example.org", "Bob Stone").await;
    event(&app, &key, "e2", "refund", &code, "bob@example.org", "Bob Stone").await;

    let (status, html) = page(&app, &app.client, &format!("/admin/participants/{jane}")).await;
    assert_eq!(status, 200);
    let section = &html[html.find("Rewards and ledger").expect("the section")..];
    assert!(section.contains("the referral of Bob Stone") && section.contains("badge--available"), "{section}");
    assert!(section.contains("refunded after the hold"), "the clawback is called out: {section}");
    let ledger = &section[section.find("id=\"ledger-title\"").expect("the ledger")..];
    // Newest first: the clawback, then available, then issued.
    let (clawback, issued) = (ledger.find(">clawback<").unwrap(), ledger.find(">issued<").unwrap());
    assert!(clawback < issued, "{ledger}");
    assert!(ledger.contains("row--clawback") && ledger.contains("follow up"));
    assert!(ledger.contains(">system<"));
}

/// The rules form as a browser sends it, with the page's token and version.
async fn save_rules(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = app.get("/admin/programs/acme/rewards").await.text().await.unwrap();
    let (token, version) = (csrf_in(&html), extract(&html, "name=\"version\" value=\"", "\"").unwrap());
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token), ("version", &version)];
    form.extend_from_slice(fields);
    app.client
        .post(app.url("/admin/programs/acme/rewards"))
        .header("Origin", &app.address)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_rules_editor_saves_rules_and_caps_and_keeps_the_rest_of_the_program() {
    let app = spawn_app().await;
    app.setup_owner().await;
    create_program(&app, json!({"fraud": {"same_ip": "reject"}})).await;
    let resp = save_rules(
        &app,
        &[
            ("rewards[0].id", "won-referrer"),
            ("rewards[0].when", "won"),
            ("rewards[0].to", "referrer"),
            ("rewards[0].hold_days", "0"),
            ("rewards[0].choose_within_days", "14"),
            ("rewards[0].use_within_days", "90"),
            ("rewards[0].min_amount", "0"),
            ("rewards[0].menu[0].kind", "credit"),
            ("rewards[0].menu[0].label", "$20 credit"),
            ("rewards[0].menu[0].amount", "2000"),
            ("rewards[0].menu[0].currency", "usd"),
            ("rewards[0].menu[1].kind", "coupon"),
            ("rewards[0].menu[1].label", "25% off"),
            ("rewards[0].menu[1].pool", "spring"),
            ("rewards[0].menu[2].kind", "credit"),
            ("rewards[1].id", "tier-3"),
            ("rewards[1].when", "won_count"),
            ("rewards[1].won_count", "3"),
            ("rewards[1].to", "referrer"),
            ("rewards[1].menu[0].kind", "custom"),
            ("rewards[1].menu[0].label", "A hoodie"),
            ("rewards[2].when", "won"),
            ("rewards[2].to", "referrer"),
            ("rewards[2].hold_days", "30"),
            ("rewards[2].menu[0].kind", "credit"),
            ("caps.per_participant_per_year.count", "5"),
            ("caps.per_participant_per_year.amount", ""),
            ("caps.program_total.count", ""),
            ("caps.program_total.amount", "100000"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap_or_default());
    let saved = programs::require(&app.state.db, "acme").await.unwrap().config;
    assert_eq!(saved.rewards.len(), 2, "the blank rule is not saved");
    let won = &saved.rewards[0];
    assert_eq!((won.id.as_str(), won.hold_days, won.choose_within_days, won.menu.len()), ("won-referrer", 0, 14, 2));
    assert_eq!(won.menu[0].currency.as_deref(), Some("USD"));
    assert_eq!(saved.rewards[1].when, goodword::domain::program::RewardTrigger::WonCount { won_count: 3 });
    assert_eq!(
        (saved.caps.per_participant_per_year.count, saved.caps.per_participant_per_year.amount),
        (Some(5), None)
    );
    assert_eq!(saved.caps.program_total.and_then(|t| t.amount), Some(100_000));
    assert_eq!(saved.fraud.same_ip, goodword::domain::program::FraudAction::Reject, "the rest is kept");
    assert_eq!(saved.landing.headline, "Acme is better with friends");

    let html = app.get("/admin/programs/acme/rewards").await.text().await.unwrap();
    assert!(html.contains("The reward rules of “Acme friends” are saved (2 rules)"), "{html}");
    assert!(html.contains("value=\"won-referrer\"") && html.contains("value=\"A hoodie\""));

    // Removing a rule saves the rest.
    let resp = save_rules(
        &app,
        &[
            ("rewards[0].id", "won-referrer"),
            ("rewards[0].when", "won"),
            ("rewards[0].to", "referrer"),
            ("rewards[0].remove", "1"),
            ("rewards[0].menu[0].kind", "custom"),
            ("rewards[0].menu[0].label", "Mug"),
            ("rewards[1].id", "tier-3"),
            ("rewards[1].when", "won_count"),
            ("rewards[1].won_count", "3"),
            ("rewards[1].to", "referrer"),
            ("rewards[1].menu[0].kind", "custom"),
            ("rewards[1].menu[0].label", "A hoodie"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let saved = programs::require(&app.state.db, "acme").await.unwrap().config;
    assert_eq!(saved.rewards.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["tier-3"]);
}

#[actix_web::test]
async fn the_rules_editor_shows_an_error_beside_the_field_and_saves_nothing() {
    let app = spawn_app().await;
    app.setup_owner().await;
    create_program(&app, json!({})).await;
    let resp = save_rules(
        &app,
        &[
            ("rewards[0].id", "won"),
            ("rewards[0].when", "won"),
            ("rewards[0].to", "referrer"),
            ("rewards[0].menu[0].kind", "custom"),
            ("rewards[0].menu[0].label", "Mug"),
            ("rewards[0].menu[1].kind", "cash"),
            ("rewards[0].menu[1].label", "Cash"),
            ("rewards[0].menu[1].currency", "USD"),
            ("rewards[0].hold_days", "soon"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    let amount = extract(&html, "id=\"rewards-0-menu-1-amount-error\">", "</p>").expect("an error beside the amount");
    assert!(amount.contains("give an amount"), "{amount}");
    assert!(extract(&html, "id=\"rewards-0-hold_days-error\">", "</p>").is_some_and(|e| e.contains("whole number")));
    assert!(
        html.contains(
            "name=\"rewards[0].menu[1].label\" type=\"text\" size=\"24\" autocomplete=\"off\" value=\"Cash\""
        ),
        "what was typed is kept: {html}"
    );
    assert!(programs::require(&app.state.db, "acme").await.unwrap().config.rewards.is_empty());

    // A form opened before another change is not saved over it unseen.
    let html = app.get("/admin/programs/acme/rewards").await.text().await.unwrap();
    let token = csrf_in(&html);
    let fields = [
        ("csrf_token", token.as_str()),
        ("version", "1"),
        ("rewards[0].id", "won"),
        ("rewards[0].when", "won"),
        ("rewards[0].to", "referrer"),
        ("rewards[0].menu[0].kind", "custom"),
        ("rewards[0].menu[0].label", "Mug"),
    ];
    let resp = app
        .client
        .post(app.url("/admin/programs/acme/rewards"))
        .header("Origin", &app.address)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("changed elsewhere"));
    assert!(programs::require(&app.state.db, "acme").await.unwrap().config.rewards.is_empty());
}
