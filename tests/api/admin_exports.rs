//! The admin's CSV exports of referrals and of a program's participants:
//! every row the list's filters select, with who the participant is, the
//! numbers a marketer reports on, and spreadsheet formulas defused.

use serde_json::json;
use time::Duration;

use crate::helpers::*;

/// Opens `code`'s link in a fresh browser and claims it at a human pace.
async fn claim(app: &TestApp, code: &str, email: &str, name: &str) {
    let browser = visitor();
    let resp = browser.get(app.url(&format!("/r/{code}"))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    app.clock.advance(Duration::seconds(30));
    let resp = app.submit(&browser, "/join/acme", "/join/acme", &[("email", email), ("name", name)]).await;
    assert_eq!(resp.status(), 303, "{email} claimed");
}

fn lines(body: &str) -> Vec<&str> {
    body.split("\r\n").filter(|l| !l.is_empty()).collect()
}

#[actix_web::test]
async fn the_referrals_export_names_each_participant_follows_the_list_filters_and_defuses_formulas() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = create_program(&app, json!({})).await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Lee, Jane").await;
    let (_, sam_code, _) = enrol(&app, &program, "sam@example.com", "Sam Roe").await;
    claim(&app, &jane_code, "bob@example.org", "=HYPERLINK(\"http://evil.example\")").await;
    claim(&app, &sam_code, "carl@example.org", "Carl Ray").await;
    let now = app.state.clock.now_utc();
    let key =
        goodword::services::api_keys::create(&app.state.db, "test".into(), None, "crm".into(), now).await.unwrap().0;
    let won = json!({"id": "deal-1", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}});
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(&key).json(&won).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let resp = app.get("/admin/referrals.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"referrals-"));
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = resp.text().await.unwrap();
    let all = lines(&body);
    assert_eq!(all.len(), 1 + 2, "a header and two referrals:\n{body}");
    assert!(
        all[0].starts_with("id,program,participant_id,participant_external_id,participant_name,participant_email,")
    );
    let bob = all.iter().find(|l| l.contains("bob@example.org")).expect("Bob's referral");
    // The participant's id may begin with `-` and come out defused; it is there either way.
    assert!(bob.contains(",acme,") && bob.contains(&jane), "{bob}");
    assert!(bob.contains(&format!(",,\"Lee, Jane\",jane@example.com,{jane_code},")), "{bob}");
    assert!(bob.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "a formula becomes text: {bob}");
    assert!(bob.contains(",won,clear,"), "{bob}");

    let won_only = app.get("/admin/referrals.csv?program=acme&stage=won").await.text().await.unwrap();
    let won_lines = lines(&won_only);
    assert_eq!(won_lines.len(), 2, "{won_only}");
    assert!(won_lines[1].contains("bob@example.org"));
    let list = app.get("/admin/referrals?program=acme&stage=won").await.text().await.unwrap();
    let href = extract(&list, "href=\"/admin/referrals.csv?", "\"").expect("the list links to its export");
    assert!(href.starts_with("program=acme&") && href.ends_with(";stage=won"), "its own selection: {href}");

    let stranger = get_with(&browser(), &app.url("/admin/referrals.csv")).await;
    assert_eq!(stranger.status(), 303);
    assert!(location(&stranger).starts_with("/admin/login"), "signed out: sent to sign in");
}

#[actix_web::test]
async fn the_participants_export_lists_each_with_link_clicks_and_referrals_by_stage() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = create_program(&app, json!({})).await;
    let (jane, jane_code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let (sam, sam_code, _) = enrol(&app, &program, "sam@example.com", "@Sam").await;
    claim(&app, &jane_code, "bob@example.org", "Bob Stone").await;
    app.state.clicks.flush().await;

    let resp = app.get("/admin/programs/acme/participants.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("participants-acme-"));
    let body = resp.text().await.unwrap();
    let all = lines(&body);
    assert_eq!(all.len(), 1 + 2, "{body}");
    assert_eq!(
        all[0],
        "id,external_id,name,email,timezone,code,link,clicks,lead,qualified,opportunity,won,refunded,rejected,created_at,updated_at"
    );
    let link = app.url(&format!("/r/{jane_code}"));
    // Found by email: an id may begin with `-` and then comes out defused.
    let jane_line = all.iter().find(|l| l.contains("jane@example.com")).expect("Jane's row");
    assert!(jane_line.contains(&jane), "{jane_line}");
    assert!(
        jane_line.contains(&format!(",Jane Doe,jane@example.com,,{jane_code},{link},1,1,0,0,0,0,0,")),
        "{jane_line}"
    );
    let sam_line = all.iter().find(|l| l.contains("sam@example.com")).expect("Sam's row");
    assert!(sam_line.contains(&sam), "{sam_line}");
    assert!(sam_line.contains(&format!(",\"'@Sam\",sam@example.com,,{sam_code},")), "defused: {sam_line}");
    assert!(sam_line.contains(",0,0,0,0,0,0,0,"), "{sam_line}");

    let page = app.get("/admin/programs/acme/participants").await.text().await.unwrap();
    assert!(page.contains("/admin/programs/acme/participants.csv"), "the page links to its export");
    assert_eq!(app.get("/admin/programs/nope/participants.csv").await.status(), 404);
}
