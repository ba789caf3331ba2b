//! The review pages: the queue with each held referral's evidence beside
//! its referrer's history, decisions one at a time (from the queue or the
//! referral's page) and in bulk, refusals beside their field, who may see
//! and decide, and the fraud lists page with its add and remove forms.

use goodword::domain::Role;
use goodword::domain::disposable::DisposableDomains;
use goodword::domain::review::{ALREADY_HAD_ACCOUNT, Decision};
use goodword::services::fraud::review;
use goodword::storage::referrals::ReferralRow;
use goodword::storage::rewards::RewardRow;
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::*;

/// A lead reward with no hold of its own, so that only a review holds it.
fn lead_reward() -> Value {
    json!([{"id": "lead-gift", "when": {"stage": "lead"}, "to": "referrer", "hold_days": 0,
            "choose_within_days": 30, "use_within_days": 90,
            "menu": [{"kind": "custom", "label": "A thank-you gift"}]}])
}

/// An owner signed in as `app.client`, and `acme` (with a lead reward and
/// no velocity limits) with Jane enrolled: her code and portal token.
async fn setup() -> (TestApp, String, String) {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = create_program(&app, json!({"rewards": lead_reward(), "fraud": no_velocity_limits()})).await;
    let (_, code, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    (app, code, token)
}

/// A referee opens Jane's link and claims `seconds` later.
async fn claim(app: &TestApp, code: &str, seconds: i64, email: &str, name: &str) -> ReferralRow {
    let client = visitor();
    let resp = client.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    app.clock.advance(Duration::seconds(seconds));
    let resp = app.submit(&client, "/join/acme", "/join/acme", &[("email", email), ("name", name)]).await;
    assert_eq!(resp.status(), 303);
    referral_of(app, email).await
}

async fn referral_of(app: &TestApp, email: &str) -> ReferralRow {
    let email = email.to_string();
    app.state
        .db
        .run(move |c| {
            let all = goodword::storage::referrals::page(c, &Default::default(), None, 1000)?;
            Ok(all.into_iter().find(|r| r.referee_email.as_deref() == Some(email.as_str())))
        })
        .await
        .unwrap()
        .expect("the referral exists")
}

async fn reward_of(app: &TestApp, referral_id: &str) -> RewardRow {
    let id = referral_id.to_string();
    app.state.db.run(move |c| goodword::storage::rewards::for_referral(c, &id)).await.unwrap().remove(0)
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let resp = get_with(client, &app.url(path)).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Sends one referral's decision form from the queue (or, with
/// `from_referral`, from its page) as the owner.
async fn decide(app: &TestApp, id: &str, fields: &[(&str, &str)], from_referral: bool) -> reqwest::Response {
    let (page, mut form) = if from_referral {
        (format!("/admin/referrals/{id}"), vec![("from", "referral")])
    } else {
        ("/admin/review".to_string(), vec![("program", ""), ("page", "1")])
    };
    form.extend_from_slice(fields);
    app.submit(&app.client, &page, &format!("/admin/review/{id}"), &form).await
}

async fn audited(app: &TestApp) -> Vec<(String, String, String)> {
    let rows = goodword::services::audit::recent(&app.state.db, 50).await.unwrap();
    rows.into_iter().map(|a| (a.action, a.actor, a.subject)).collect()
}

#[actix_web::test]
async fn the_queue_lists_held_referrals_oldest_first_with_the_evidence_beside_the_referrers_history() {
    let (app, code, _) = setup().await;
    let (status, html) = page(&app, &app.client, "/admin/review").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nothing waits for review"), "a friendly empty state: {html}");

    claim(&app, &code, 30, "calm@example.org", "Calm Carla").await;
    let disposable = claim(&app, &code, 30, "first@mailinator.com", "First Fred").await;
    let hasty = claim(&app, &code, 1, "second@example.org", "Second Sue").await;
    assert_eq!((disposable.review.as_str(), hasty.review.as_str()), ("held", "held"));

    let (status, html) = page(&app, &app.client, "/admin/review").await;
    assert_eq!(status, 200);
    let first = html.find("First Fred").expect("the disposable one is listed");
    let second = html.find("Second Sue").expect("the hasty one is listed");
    assert!(first < second, "oldest first");
    assert!(html.contains("mailinator.com is a disposable email domain"), "{html}");
    assert!(html.contains("claimed 1 s after the click, faster than 3 s"), "{html}");
    assert!(html.contains("2 referrals wait"));
    // Beside it, the referrer: who, and how their referrals fared.
    assert!(html.contains("Jane Doe") && html.contains("jane@example.com"));
    assert!(html.contains("held 2") && html.contains("clear 1"), "counts by review: {html}");
    assert!(html.contains("Calm Carla"), "their latest referrals");
    // Each case can be decided alone or ticked for the bulk form.
    assert!(html.contains(&format!("action=\"/admin/review/{}\"", disposable.id)));
    assert!(html.contains(&format!("name=\"ids\" value=\"{}\" form=\"bulk\"", hasty.id)));
    assert!(html.contains("id=\"bulk\""));

    let (_, other) = page(&app, &app.client, "/admin/review?program=nope&page=7").await;
    assert!(other.contains("First Fred"), "an unknown program or page past the end shows what there is");
}

#[actix_web::test]
async fn viewers_can_neither_open_the_review_pages_nor_decide_and_reviewers_can() {
    let (app, code, _) = setup().await;
    let held = claim(&app, &code, 30, "held@mailinator.com", "Held Hal").await;
    app.create_user("viewer@example.com", Role::Viewer).await;
    app.create_user("reviewer@example.com", Role::Reviewer).await;

    let viewer = app.signed_in("viewer@example.com").await;
    assert_eq!(page(&app, &viewer, "/admin/review").await.0, 403);
    assert_eq!(page(&app, &viewer, "/admin/fraud-lists").await.0, 403);
    let fields = [("decision", "approve"), ("reason", "genuine"), ("note", "")];
    let resp = app.submit(&viewer, "/admin", &format!("/admin/review/{}", held.id), &fields).await;
    assert_eq!(resp.status(), 403);
    let resp =
        app.submit(&viewer, "/admin", "/admin/review", &[("ids", held.id.as_str()), ("decision", "approve")]).await;
    assert_eq!(resp.status(), 403);
    let resp =
        app.submit(&viewer, "/admin", "/admin/fraud-lists", &[("kind", "block_domain"), ("value", "x.example")]).await;
    assert_eq!(resp.status(), 403);
    let (status, html) = page(&app, &viewer, &format!("/admin/referrals/{}", held.id)).await;
    assert_eq!(status, 200, "a viewer reads the review");
    assert!(html.contains("mailinator.com is a disposable email domain"));
    assert!(!html.contains("action=\"/admin/review/"), "but is offered no decision");
    assert!(!html.contains("href=\"/admin/review\""), "nor the menu's link");
    assert_eq!(referral_of(&app, "held@mailinator.com").await.review, "held");

    let reviewer = app.signed_in("reviewer@example.com").await;
    let (status, html) = page(&app, &reviewer, "/admin/review").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/admin/review\"") && html.contains("href=\"/admin/fraud-lists\""), "in the menu");
    let resp = app.submit(&reviewer, "/admin/review", &format!("/admin/review/{}", held.id), &fields).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(referral_of(&app, "held@mailinator.com").await.review, "approved");
}

#[actix_web::test]
async fn approving_from_the_queue_releases_the_held_reward_and_is_audited() {
    let (app, code, _) = setup().await;
    let held = claim(&app, &code, 30, "robin@mailinator.com", "Robin Friend").await;
    let reward = reward_of(&app, &held.id).await;
    assert_eq!((reward.status.as_str(), reward.review_hold), ("pending", true));

    let resp = decide(&app, &held.id, &[("decision", "approve"), ("reason", "genuine"), ("note", "")], false).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/admin/review?program=&page=1");
    let reward = reward_of(&app, &held.id).await;
    assert_eq!((reward.status.as_str(), reward.review_hold), ("available", false));
    assert_eq!(referral_of(&app, "robin@mailinator.com").await.review, "approved");
    let (_, html) = page(&app, &app.client, "/admin/review").await;
    assert!(html.contains("Approved the referral of Robin Friend"), "{html}");
    assert!(html.contains("Nothing waits for review"));
    assert!(audited(&app).await.contains(&("referral.approved".into(), OWNER_EMAIL.into(), held.id.clone())));

    // A second reviewer's late decision changes nothing and says why.
    let resp = decide(&app, &held.id, &[("decision", "approve"), ("reason", "genuine"), ("note", "")], false).await;
    assert_eq!(resp.status(), 303);
    let (_, html) = page(&app, &app.client, "/admin/review").await;
    assert!(html.contains("Nothing was changed: this referral cannot be approved"), "{html}");
}

#[actix_web::test]
async fn rejecting_from_the_referral_page_revokes_and_reinstating_brings_it_back() {
    let (app, code, token) = setup().await;
    let fine = claim(&app, &code, 30, "fine@example.org", "Fine Fiona").await;
    assert_eq!((fine.review.as_str(), reward_of(&app, &fine.id).await.status.as_str()), ("clear", "available"));
    let (_, html) = page(&app, &app.client, &format!("/admin/referrals/{}", fine.id)).await;
    assert!(html.contains("No check fired"));
    assert!(html.contains("value=\"reject\"") && !html.contains("value=\"approve\""), "a clear one can be rejected");

    let fields = [("decision", "reject"), ("reason", "existing_customer"), ("note", "CRM shows a 2024 account")];
    let resp = decide(&app, &fine.id, &fields, true).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("/admin/referrals/{}", fine.id));
    let row = referral_of(&app, "fine@example.org").await;
    assert_eq!((row.stage.as_str(), row.review.as_str()), ("rejected", "rejected"));
    assert_eq!(reward_of(&app, &fine.id).await.status, "revoked");
    let (_, html) = page(&app, &app.client, &format!("/admin/referrals/{}", fine.id)).await;
    assert!(html.contains("Rejected the referral of Fine Fiona"), "the flash: {html}");
    let portal = app.get(&format!("/p/{token}")).await.text().await.unwrap();
    assert!(portal.contains(ALREADY_HAD_ACCOUNT), "{portal}");
    assert!(!portal.contains("CRM"), "the note stays with the team");
    assert!(html.contains("the referee already had an account") && html.contains("CRM shows a 2024 account"));
    assert!(html.contains(OWNER_EMAIL), "who decided");
    assert!(html.contains("value=\"reinstate\""), "a rejected one can be reinstated");

    let resp = decide(&app, &fine.id, &[("decision", "reinstate"), ("reason", "other"), ("note", " ")], true).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"review-reinstate-note-error\">say what the other reason is<"), "{html}");
    assert_eq!(referral_of(&app, "fine@example.org").await.stage, "rejected", "nothing changed");

    let fields = [("decision", "reinstate"), ("reason", "other"), ("note", "a new account after all")];
    assert_eq!(decide(&app, &fine.id, &fields, true).await.status(), 303);
    let row = referral_of(&app, "fine@example.org").await;
    assert_eq!((row.stage.as_str(), row.review.as_str()), ("lead", "approved"));
    assert_eq!(reward_of(&app, &fine.id).await.status, "available");
    let audit = audited(&app).await;
    assert!(audit.contains(&("referral.rejected".into(), OWNER_EMAIL.into(), fine.id.clone())), "{audit:?}");
    assert!(audit.contains(&("referral.reinstated".into(), OWNER_EMAIL.into(), fine.id.clone())), "{audit:?}");
}

#[actix_web::test]
async fn several_referrals_are_decided_at_once_and_one_decided_meanwhile_is_refused() {
    let (app, code, _) = setup().await;
    let a = claim(&app, &code, 30, "a@mailinator.com", "Ann A").await;
    let b = claim(&app, &code, 30, "b@mailinator.com", "Bob B").await;
    let c = claim(&app, &code, 30, "c@mailinator.com", "Cat C").await;
    let none = app.submit(&app.client, "/admin/review", "/admin/review", &[("decision", "reject")]).await;
    assert_eq!(none.status(), 422);
    assert!(none.text().await.unwrap().contains("tick at least one referral in the list"));

    // Someone else rejects Cat while this reviewer ticks all three.
    let verdict = review::Verdict::parse(Decision::Reject, "fake_account", "", "other@example.com".into()).unwrap();
    review::decide(&app.state.db, app.state.webhooks.doorbell(), &c.id, verdict, app.state.clock.now_utc())
        .await
        .unwrap();
    let fields = [
        ("ids", a.id.as_str()),
        ("ids", b.id.as_str()),
        ("ids", c.id.as_str()),
        ("decision", "reject"),
        ("reason", "scripted_signups"),
        ("note", "one burst of throwaway addresses"),
        ("program", ""),
        ("page", "1"),
    ];
    let resp = app.submit(&app.client, "/admin/review", "/admin/review", &fields).await;
    assert_eq!(resp.status(), 303);
    for email in ["a@mailinator.com", "b@mailinator.com"] {
        let row = referral_of(&app, email).await;
        assert_eq!((row.stage.as_str(), row.review.as_str()), ("rejected", "rejected"), "{email}");
    }
    let (_, html) = page(&app, &app.client, "/admin/review").await;
    assert!(html.contains("2 decided, 1 refused: this referral cannot be rejected: its review is rejected"), "{html}");
    let rejections: Vec<_> =
        audited(&app).await.into_iter().filter(|(action, ..)| action == "referral.rejected").collect();
    assert_eq!(rejections.len(), 3, "Cat once, by the other reviewer: {rejections:?}");
    assert!(rejections.contains(&("referral.rejected".into(), "other@example.com".into(), c.id.clone())));
}

#[actix_web::test]
async fn a_reason_of_the_other_decision_is_refused_beside_its_field() {
    let (app, code, _) = setup().await;
    let held = claim(&app, &code, 30, "held@mailinator.com", "Held Hal").await;

    let fields = [("decision", "approve"), ("reason", "fake_account"), ("note", "typed")];
    let resp = decide(&app, &held.id, &fields, false).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    let error = format!("id=\"c-{}-approve-reason-error\">choose one of the reasons listed<", held.id);
    assert!(html.contains(&error), "{html}");
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("value=\"typed\""), "what was typed stays");
    assert_eq!(referral_of(&app, "held@mailinator.com").await.review, "held", "nothing decided");

    let fields = [("ids", held.id.as_str()), ("decision", "approve"), ("reason", "terms")];
    let resp = app.submit(&app.client, "/admin/review", "/admin/review", &fields).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"bulk-reason-error\">choose one of the reasons listed<"), "{html}");
    assert!(html.contains(&format!("value=\"{}\" form=\"bulk\" checked", held.id)), "the tick stays");
}

#[actix_web::test]
async fn the_lists_page_adds_refuses_and_removes_entries_and_a_blocked_domain_is_rejected() {
    let (app, code, _) = setup().await;
    let (status, html) = page(&app, &app.client, "/admin/fraud-lists").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<strong>{}</strong> domains", DisposableDomains::bundled().len())));
    assert!(html.contains("disposable-email-domains") && html.contains("CC0"), "its source and date");
    for label in ["Blocked email addresses", "Blocked email domains", "Blocked IP addresses", "Also disposable"] {
        assert!(html.contains(label), "{label}");
    }

    let add = [("kind", "block_domain"), ("value", "@Spam.Example."), ("note", "a burst last week")];
    let resp = app.submit(&app.client, "/admin/fraud-lists", "/admin/fraud-lists", &add).await;
    assert_eq!(resp.status(), 303);
    let (_, html) = page(&app, &app.client, "/admin/fraud-lists").await;
    assert!(
        html.contains("<th scope=\"row\"><code>spam.example</code>") && html.contains("a burst last week"),
        "{html}"
    );
    assert!(audited(&app).await.contains(&(
        "fraud_list.added.block_domain".into(),
        OWNER_EMAIL.into(),
        "spam.example".into()
    )));

    let bad = [("kind", "block_domain"), ("value", "not a domain"), ("note", "")];
    let resp = app.submit(&app.client, "/admin/fraud-lists", "/admin/fraud-lists", &bad).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"block_domain-value-error\">enter a domain name such as spam.example<"), "{html}");
    assert!(html.contains("value=\"not a domain\""), "what was typed stays");

    let blocked = claim(&app, &code, 30, "someone@eu.spam.example", "Spam Sam").await;
    assert_eq!((blocked.stage.as_str(), blocked.review.as_str()), ("rejected", "rejected"));

    let remove = [("kind", "block_domain"), ("value", "spam.example")];
    let resp = app.submit(&app.client, "/admin/fraud-lists", "/admin/fraud-lists/remove", &remove).await;
    assert_eq!(resp.status(), 303);
    let (_, html) = page(&app, &app.client, "/admin/fraud-lists").await;
    assert!(!html.contains("<th scope=\"row\"><code>spam.example</code>"), "{html}");
    assert!(html.contains("is no longer on the list"));
    let later = claim(&app, &code, 30, "later@spam.example", "Later Lou").await;
    assert_eq!(later.stage, "lead", "off the list, it no longer rejects");
}
