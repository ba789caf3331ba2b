//! `/admin/audit`: the audit log filtered by who, what (a prefix), subject
//! and day, paged newest first, and exported as CSV with the same filters.

use goodword::domain::Role;
use goodword::storage::audit::{self, AuditEntry};
use time::Duration;

use crate::helpers::*;

/// Writes an entry `days_ago` days before now.
async fn entry(app: &TestApp, days_ago: i64, actor: &str, action: &str, subject: &str, detail: &str) {
    let at = app.state.clock.now_utc() - Duration::days(days_ago);
    let (actor, action, subject, detail) =
        (actor.to_string(), action.to_string(), subject.to_string(), detail.to_string());
    app.state
        .db
        .write(move |c| {
            audit::record(c, AuditEntry { actor: &actor, action: &action, subject: &subject, detail: &detail }, at)
        })
        .await
        .unwrap();
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let resp = get_with(client, &app.url(path)).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[actix_web::test]
async fn the_audit_log_filters_by_who_what_subject_and_day() {
    let app = spawn_app().await;
    app.setup_owner().await;
    entry(&app, 10, "ann@example.com", "reward.revoked", "rw1", "fraud").await;
    entry(&app, 5, "ann@example.com", "reward.approved_early", "rw2", "").await;
    entry(&app, 3, "api:crm", "rewardXrevoked", "rw3", "").await;
    entry(&app, 1, "bob@example.com", "program.updated", "acme", "").await;

    let (_, html) = page(&app.client, &app, "/admin/audit?action=reward.").await;
    assert!(html.contains("reward.revoked") && html.contains("reward.approved_early"));
    assert!(!html.contains("rewardXrevoked"), "a dot is not a wildcard");
    let (_, html) = page(&app.client, &app, "/admin/audit?action=reward_").await;
    assert!(!html.contains("rewardXrevoked"), "nor is an underscore");

    let (_, html) = page(&app.client, &app, "/admin/audit?actor=ann%40example.com&subject=rw2").await;
    assert!(html.contains("reward.approved_early") && !html.contains("reward.revoked"));

    let day = |n: i64| (app.state.clock.now_utc() - Duration::days(n)).date().to_string();
    let (_, html) = page(&app.client, &app, &format!("/admin/audit?from={}&to={}", day(5), day(3))).await;
    assert!(html.contains("rewardXrevoked") && html.contains("reward.approved_early"), "both days included");
    assert!(!html.contains("program.updated") && !html.contains("reward.revoked"));

    let (status, html) = page(&app.client, &app, "/admin/audit?from=yesterday").await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"from-error\">use a date such as 2026-12-01"), "the message is beside the field");
}

#[actix_web::test]
async fn the_audit_log_pages_newest_first_and_exports_what_the_filters_select() {
    let app = spawn_app().await;
    app.setup_owner().await;
    for i in 0..120 {
        entry(&app, 0, "ann@example.com", "reward.fulfilled", &format!("rw{i:03}"), "").await;
        app.clock.advance(Duration::seconds(1));
    }
    entry(&app, 0, "ann@example.com", "program.updated", "acme", "=HYPERLINK(\"http://evil.example\")").await;

    let (_, first) = page(&app.client, &app, "/admin/audit?action=reward.").await;
    assert!(first.contains("rw119") && !first.contains("rw019"), "the newest hundred first");
    let next = extract(&first, "href=\"/admin/audit?", "\" rel=\"next\"").expect("a next page");
    let (_, second) = page(&app.client, &app, &format!("/admin/audit?{}", next.replace("&#38;", "&"))).await;
    assert!(second.contains("rw019") && second.contains("rw000") && !second.contains("rw020"));

    // A viewer reads and exports too.
    app.create_user("viewer@example.com", Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    let resp = get_with(&viewer, &app.url("/admin/audit.csv?actor=ann%40example.com")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,actor,action,subject,detail");
    assert_eq!(lines.len(), 1 + 121, "every entry, not one page");
    assert!(
        lines[1].contains("program.updated") && lines[1].contains("'=HYPERLINK"),
        "newest first, formula defused: {}",
        lines[1]
    );
}
