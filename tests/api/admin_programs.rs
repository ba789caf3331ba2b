//! The admin pages for programs: the form creates and edits the same
//! configuration as the API (one validation, errors beside their fields,
//! untouched parts kept), status changes, roles, and the program page's
//! counts and server-drawn chart.

use std::sync::Arc;

use goodword::domain::program::{FraudAction, ProgramStatus, parse_config};
use goodword::domain::{ProgramSlug, Role};
use goodword::services::participants::{self, EnrolInput};
use goodword::services::programs::{self, Program};
use goodword::storage::clicks::{self, ClickRow};
use goodword::storage::referrals::{self, ReferralRow};
use serde_json::json;
use time::PrimitiveDateTime;
use time::macros::datetime;

use crate::helpers::*;

/// The fields of a complete, valid create form.
fn create_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Acme Friends"),
        ("slug", ""),
        ("destination_url", "https://acme.example/signup"),
        ("allowed_hosts", "acme.example\nwww.acme.example"),
        ("window_days", "45"),
        ("model", "first_click"),
        ("headline", "Acme is better with friends"),
        ("body", "Join the people who plan with Acme."),
        ("referee_offer", "20% off your first year"),
        ("image_url", ""),
        ("share_default", "{name} thinks you'll like Acme: {offer} {link}"),
        ("share_whatsapp", "Try Acme: {link}"),
        ("share_email_subject", ""),
    ]
}

fn with(
    mut fields: Vec<(&'static str, &'static str)>,
    key: &str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    for f in fields.iter_mut().filter(|f| f.0 == key) {
        f.1 = value;
    }
    fields
}

/// Stores a program through the service, as the API does.
async fn put_program(app: &TestApp, slug: &str, config: serde_json::Value) -> Program {
    let config = parse_config(&config).expect("a valid configuration");
    programs::put(&app.state.db, "test".into(), ProgramSlug::parse(slug).unwrap(), config, app.state.clock.now_utc())
        .await
        .expect("stored")
        .0
}

async fn enrol(app: &TestApp, program: &Program, email: &str, name: &str) -> (String, String) {
    let input = EnrolInput::parse(email, Some(name), None, None).unwrap();
    let enrolled =
        participants::enrol(&app.state.db, &app.state.keys, "test".into(), program, input, app.state.clock.now_utc())
            .await
            .expect("enrolled");
    let link = enrolled.participant.link.expect("a link");
    (enrolled.participant.row.id, link.id)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    extract(tag, &format!(" {name}=\""), "\"").map(|v| unescape(&v))
}

/// The named fields of the form in `html` as a browser would send them
/// untouched: inputs with their values, textareas with their text, selects
/// with their selected option.
fn prefilled(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with("<input ") {
            if let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value"))
                && name != "csrf_token"
            {
                fields.push((name, value));
            }
        } else if tag.starts_with("<textarea ") {
            let text = &rest[end + 1..];
            let text = &text[..text.find("</textarea>").expect("closed textarea")];
            fields.push((attr(tag, "name").expect("named textarea"), unescape(text)));
        } else if tag.starts_with("<select ") {
            let body = &rest[end..rest.find("</select>").expect("closed select")];
            let selected = body.split("<option").find(|o| o.contains(" selected")).expect("a selected option");
            fields.push((attr(tag, "name").expect("named select"), attr(selected, "value").expect("option value")));
        }
        rest = &rest[1..];
    }
    fields
}

#[actix_web::test]
async fn a_marketer_creates_a_program_through_the_form_and_the_api_reads_the_same() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("marketer@example.com", Role::Marketer).await;
    let marketer = app.signed_in("marketer@example.com").await;

    let resp = app.submit(&marketer, "/admin/programs/new", "/admin/programs", &create_fields()).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/admin/programs/acme-friends", "the slug is made from the name");

    let program = programs::get(&app.state.db, "acme-friends").await.unwrap().expect("stored");
    let c = &program.config;
    assert_eq!(c.name, "Acme Friends");
    assert_eq!(c.status, ProgramStatus::Active);
    assert_eq!(c.destination_url, "https://acme.example/signup");
    assert_eq!(c.allowed_hosts, vec!["acme.example", "www.acme.example"]);
    assert_eq!(c.attribution.window_days, 45);
    assert_eq!(c.attribution.model.as_str(), "first_click");
    assert_eq!(c.landing.headline, "Acme is better with friends");
    assert_eq!(c.landing.referee_offer, "20% off your first year");
    assert_eq!(c.landing.image_url, None);
    assert_eq!(c.share_text.default, "{name} thinks you'll like Acme: {offer} {link}");
    assert_eq!(c.share_text.whatsapp.as_deref(), Some("Try Acme: {link}"));
    assert_eq!(c.share_text.email_subject, None);

    let page = get_with(&marketer, &app.url("/admin/programs/acme-friends")).await.text().await.unwrap();
    assert!(page.contains("“Acme Friends” is created."), "a flash confirms the creation");
    let list = get_with(&marketer, &app.url("/admin/programs")).await.text().await.unwrap();
    assert!(list.contains("href=\"/admin/programs/acme-friends\""));
}

#[actix_web::test]
async fn each_refused_value_re_renders_the_form_with_its_message_beside_its_field() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let cases = [
        (
            "destination_url",
            "javascript:alert(1)",
            "destination_url",
            "only http:// and https:// addresses are allowed",
        ),
        (
            "destination_url",
            "ftp://acme.example/file",
            "destination_url",
            "only http:// and https:// addresses are allowed",
        ),
        (
            "destination_url",
            "https://evil.example/signup",
            "destination_url",
            "the host evil.example is not in the allowed hosts",
        ),
        ("window_days", "0", "window_days", "use 1 to 365 days"),
        ("image_url", "http://img.example/a.png", "image_url", "use an https:// address of an image"),
        ("headline", "", "headline", "is required"),
    ];
    for (field, value, input, message) in cases {
        let resp = app
            .submit(&app.client, "/admin/programs/new", "/admin/programs", &with(create_fields(), field, value))
            .await;
        assert_eq!(resp.status(), 422, "{field}={value:?}");
        let html = resp.text().await.unwrap();
        let error = extract(&html, &format!("id=\"{input}-error\">"), "</p>");
        assert_eq!(error.as_deref().map(unescape).as_deref(), Some(message), "{field}={value:?}");
        let tag = extract(&html, &format!("id=\"{input}\""), ">").expect("the input is there");
        assert!(tag.contains("aria-invalid=\"true\"") && tag.contains(&format!("{input}-error")), "{tag}");
        assert!(html.contains("value=\"Acme Friends\""), "what was typed is kept");
    }
    assert!(programs::list(&app.state.db).await.unwrap().is_empty(), "nothing refused was stored");
}

#[actix_web::test]
async fn a_slug_that_exists_is_refused_beside_the_slug_field_and_the_program_is_untouched() {
    let app = spawn_app().await;
    app.setup_owner().await;
    put_program(&app, "acme", json!({"name": "The first Acme", "destination_url": "https://acme.example/"})).await;

    let resp =
        app.submit(&app.client, "/admin/programs/new", "/admin/programs", &with(create_fields(), "slug", "acme")).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    let error = extract(&html, "id=\"slug-error\">", "</p>").expect("an error beside the slug");
    assert!(error.contains("taken"), "{error}");
    let stored = programs::get(&app.state.db, "acme").await.unwrap().unwrap();
    assert_eq!(stored.config.name, "The first Acme");
    assert_eq!(programs::list(&app.state.db).await.unwrap().len(), 1);
}

#[actix_web::test]
async fn editing_the_headline_keeps_rewards_fraud_settings_and_status() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = put_program(
        &app,
        "acme",
        json!({
            "name": "Acme friends", "status": "paused",
            "destination_url": "https://acme.example/signup",
            "allowed_hosts": ["acme.example", "go.acme.example"],
            "landing": {"headline": "Old headline", "referee_offer": "A month free"},
            "share_text": {"default": "Try Acme: {link}", "email_subject": "Acme?"},
            "rewards": [{"id": "won-referrer", "when": {"stage": "won"}, "to": "referrer",
                         "menu": [{"kind": "credit", "amount": 2000, "currency": "USD", "label": "$20 credit"}]}],
            "fraud": {"same_ip": "reject", "min_seconds_click_to_lead": 10}
        }),
    )
    .await;
    app.state.links.put_program(Arc::new(program.clone()));

    let form = app.get("/admin/programs/acme/edit").await.text().await.unwrap();
    assert!(form.contains("value=\"acme\" readonly"), "the slug is shown, read-only");
    let mut fields = prefilled(&form);
    assert!(fields.iter().all(|(name, _)| name != "slug"), "the slug is not sent");
    for field in fields.iter_mut().filter(|f| f.0 == "headline") {
        field.1 = "New headline".into();
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let resp = app.submit(&app.client, "/admin/programs/acme/edit", "/admin/programs/acme", &fields).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/admin/programs/acme");

    let saved = programs::get(&app.state.db, "acme").await.unwrap().unwrap().config;
    assert_eq!(saved.landing.headline, "New headline");
    assert_eq!(saved.rewards.len(), 1);
    assert_eq!(saved.rewards[0].id, "won-referrer");
    assert_eq!(saved.rewards[0].menu[0].amount, Some(2000));
    assert_eq!(saved.fraud.same_ip, FraudAction::Reject);
    assert_eq!(saved.fraud.min_seconds_click_to_lead, 10);
    assert_eq!(saved.status, ProgramStatus::Paused);
    // What the form showed came back unchanged.
    assert_eq!(saved.allowed_hosts, vec!["acme.example", "go.acme.example"]);
    assert_eq!(saved.landing.referee_offer, "A month free");
    assert_eq!(saved.share_text.email_subject.as_deref(), Some("Acme?"));
    assert_eq!(saved.share_text.whatsapp, None);
    assert!(app.state.links.program(&program.id).is_none(), "the redirect's cached copy is dropped");
}

#[actix_web::test]
async fn an_edit_that_moves_the_destination_off_the_allowed_hosts_is_refused() {
    let app = spawn_app().await;
    app.setup_owner().await;
    put_program(&app, "acme", json!({"name": "Acme", "destination_url": "https://acme.example/"})).await;
    let form = app.get("/admin/programs/acme/edit").await.text().await.unwrap();
    let mut fields = prefilled(&form);
    for field in fields.iter_mut().filter(|f| f.0 == "destination_url") {
        field.1 = "https://elsewhere.example/".into();
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let resp = app.submit(&app.client, "/admin/programs/acme/edit", "/admin/programs/acme", &fields).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert_eq!(
        extract(&html, "id=\"destination_url-error\">", "</p>").as_deref(),
        Some("the host elsewhere.example is not in the allowed hosts")
    );
    let stored = programs::get(&app.state.db, "acme").await.unwrap().unwrap();
    assert_eq!(stored.config.destination_url, "https://acme.example/");
}

#[actix_web::test]
async fn pause_archive_and_resume_change_the_status() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let program = put_program(&app, "acme", json!({"name": "Acme", "destination_url": "https://acme.example/"})).await;
    for (value, expected) in
        [("paused", ProgramStatus::Paused), ("archived", ProgramStatus::Archived), ("active", ProgramStatus::Active)]
    {
        app.state.links.put_program(Arc::new(program.clone()));
        let resp =
            app.submit(&app.client, "/admin/programs/acme", "/admin/programs/acme/status", &[("status", value)]).await;
        assert_eq!(resp.status(), 303, "{value}");
        assert_eq!(location(&resp), "/admin/programs/acme");
        assert_eq!(programs::get(&app.state.db, "acme").await.unwrap().unwrap().status(), expected);
        assert!(app.state.links.program(&program.id).is_none(), "the cached copy is dropped after {value}");
    }
    let resp =
        app.submit(&app.client, "/admin/programs/acme", "/admin/programs/acme/status", &[("status", "gone")]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(programs::get(&app.state.db, "acme").await.unwrap().unwrap().status(), ProgramStatus::Active);
    let missing =
        app.submit(&app.client, "/admin/programs/acme", "/admin/programs/nope/status", &[("status", "paused")]).await;
    assert_eq!(missing.status(), 404);
}

#[actix_web::test]
async fn archived_programs_are_listed_last_and_muted() {
    let app = spawn_app().await;
    app.setup_owner().await;
    put_program(&app, "older", json!({"name": "Older", "destination_url": "https://acme.example/"})).await;
    app.clock.advance(time::Duration::minutes(1));
    put_program(&app, "newest", json!({"name": "Newest", "destination_url": "https://acme.example/"})).await;
    programs::set_status(&app.state.db, "test".into(), "newest", ProgramStatus::Archived, app.state.clock.now_utc())
        .await
        .unwrap();

    let html = app.get("/admin/programs").await.text().await.unwrap();
    let older = html.find("/admin/programs/older\"").expect("older listed");
    let newest = html.find("/admin/programs/newest\"").expect("newest listed");
    assert!(older < newest, "the archived program comes after the active one");
    let row_start = html[..newest].rfind("<tr").unwrap();
    assert!(html[row_start..newest].contains("class=\"muted\""), "the archived row is muted");
}

#[actix_web::test]
async fn a_viewer_reads_programs_but_cannot_create_edit_or_change_status() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("viewer@example.com", Role::Viewer).await;
    put_program(&app, "acme", json!({"name": "Acme", "destination_url": "https://acme.example/"})).await;
    let viewer = app.signed_in("viewer@example.com").await;

    assert_eq!(get_with(&viewer, &app.url("/admin/programs")).await.status(), 200);
    assert_eq!(get_with(&viewer, &app.url("/admin/programs/acme")).await.status(), 200);
    assert_eq!(get_with(&viewer, &app.url("/admin/programs/new")).await.status(), 403);
    assert_eq!(get_with(&viewer, &app.url("/admin/programs/acme/edit")).await.status(), 403);

    let created =
        app.submit(&viewer, "/admin/programs", "/admin/programs", &with(create_fields(), "slug", "sneaky")).await;
    assert_eq!(created.status(), 403);
    assert!(programs::get(&app.state.db, "sneaky").await.unwrap().is_none());

    let status =
        app.submit(&viewer, "/admin/programs/acme", "/admin/programs/acme/status", &[("status", "archived")]).await;
    assert_eq!(status.status(), 403);
    assert_eq!(programs::get(&app.state.db, "acme").await.unwrap().unwrap().status(), ProgramStatus::Active);

    let edited = app
        .submit(&viewer, "/admin/programs/acme", "/admin/programs/acme", &with(create_fields(), "name", "Mine"))
        .await;
    assert_eq!(edited.status(), 403);
    assert_eq!(programs::get(&app.state.db, "acme").await.unwrap().unwrap().config.name, "Acme");
}

fn click(
    id: &str,
    link_id: &str,
    program_id: &str,
    at: PrimitiveDateTime,
    is_bot: bool,
    is_duplicate: bool,
) -> ClickRow {
    ClickRow {
        id: id.into(),
        link_id: link_id.into(),
        program_id: program_id.into(),
        at,
        channel: None,
        user_agent: "test".into(),
        referrer_host: None,
        ip_hash: format!("ip-{id}"),
        is_bot,
        is_duplicate,
    }
}

fn referral(id: &str, program_id: &str, participant_id: &str, stage: &str, at: PrimitiveDateTime) -> ReferralRow {
    ReferralRow {
        id: id.into(),
        program_id: program_id.into(),
        participant_id: participant_id.into(),
        link_id: None,
        click_id: None,
        code: "code".into(),
        referee_email: Some(format!("{id}@referee.example")),
        referee_email_normalized: Some(format!("{id}@referee.example")),
        referee_name: format!("Referee {id}"),
        referee_external_id: None,
        stage: stage.into(),
        lead_at: Some(at),
        qualified_at: None,
        opportunity_at: None,
        won_at: None,
        created_at: at,
        updated_at: at,
        review: "clear".into(),
        review_reason: None,
        referee_ip_hash: None,
    }
}

fn stat(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!("<span class=\"stat__label\">{label}</span>"))?;
    let start = html[..end].rfind("<span class=\"stat__value\">")? + "<span class=\"stat__value\">".len();
    Some(html[start..end].replace("</span>", ""))
}

fn chart_day(html: &str, day: &str) -> Option<String> {
    extract(html, &format!("<tr><th scope=\"row\">{day}</th><td>"), "</td>")
}

#[actix_web::test]
async fn the_program_page_counts_and_charts_clicks_per_day_of_the_injected_clock() {
    let app = spawn_app().await;
    // A day far from the real one: bucketing by the system clock would
    // put every click outside the chart.
    app.clock.set(datetime!(2031-03-10 12:00 UTC));
    app.setup_owner().await;
    let program = put_program(&app, "acme", json!({"name": "Acme", "destination_url": "https://acme.example/"})).await;
    let (ann, ann_link) = enrol(&app, &program, "ann@example.com", "Ann Lee").await;
    let (bob, bob_link) = enrol(&app, &program, "bob@example.com", "Bob Roe").await;
    let pid = program.id.clone();
    let rows = vec![
        click("c1", &ann_link, &pid, datetime!(2031-03-10 00:30), false, false),
        click("c2", &ann_link, &pid, datetime!(2031-03-10 11:59), false, false),
        click("c3", &bob_link, &pid, datetime!(2031-03-07 09:00), false, false),
        click("c4", &ann_link, &pid, datetime!(2031-03-09 23:59:59), false, false),
        // Not counted: a crawler, a repeat open, and one before the chart.
        click("c5", &bob_link, &pid, datetime!(2031-03-10 10:00), true, false),
        click("c6", &bob_link, &pid, datetime!(2031-03-10 10:01), false, true),
        click("c7", &bob_link, &pid, datetime!(2031-02-01 10:00), false, false),
    ];
    let refs = vec![
        referral("r1", &pid, &bob, "won", datetime!(2031-03-08 10:00)),
        referral("r2", &pid, &bob, "lead", datetime!(2031-03-09 10:00)),
        referral("r3", &pid, &ann, "lead", datetime!(2031-03-10 10:00)),
    ];
    app.state
        .db
        .write(move |conn| {
            clicks::insert_batch(conn, &rows)?;
            for r in &refs {
                referrals::insert(conn, r)?;
            }
            Ok(())
        })
        .await
        .unwrap();

    let html = app.get("/admin/programs/acme").await.text().await.unwrap();
    assert_eq!(stat(&html, "participants").as_deref(), Some("2"));
    assert_eq!(stat(&html, "counted clicks, last 30 days").as_deref(), Some("4"));
    assert_eq!(stat(&html, "referrals").as_deref(), Some("3"));
    assert_eq!(stat(&html, "at stage lead").as_deref(), Some("2"));
    assert_eq!(stat(&html, "at stage won").as_deref(), Some("1"));
    assert_eq!(stat(&html, "at stage qualified").as_deref(), Some("0"));

    // The chart: an accessible SVG with one bar per day, and its numbers.
    assert!(html.contains("<svg viewBox=\"0 0 640 220\" role=\"img\""));
    assert!(html.contains("<title id=\"clicks-chart-title\">Counted clicks per day</title>"));
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 30);
    assert_eq!(chart_day(&html, "Mar 10").as_deref(), Some("2"));
    assert_eq!(chart_day(&html, "Mar 9").as_deref(), Some("1"));
    assert_eq!(chart_day(&html, "Mar 7").as_deref(), Some("1"));
    assert_eq!(chart_day(&html, "Mar 8").as_deref(), Some("0"));
    assert_eq!(chart_day(&html, "Feb 9").as_deref(), Some("0"), "the chart starts 29 days back");
    assert!(chart_day(&html, "Feb 8").is_none());
    assert!(html.contains("from 2031-02-09 to 2031-03-10"));
    assert!(html.contains("<title>Mar 10: 2</title>"), "each bar names its day and value");

    // Top participants: Ann has the most counted clicks; both link to their page.
    let top = &html[html.find("id=\"top-title\"").unwrap()..html.find("id=\"recent-title\"").unwrap()];
    let ann_at = top.find(&format!("href=\"/admin/participants/{ann}\"")).expect("Ann is listed");
    let bob_at = top.find(&format!("href=\"/admin/participants/{bob}\"")).expect("Bob is listed");
    assert!(ann_at < bob_at, "three clicks rank above one");
    assert!(top.contains("/r/"), "each shows its short link");

    // Recent referrals, newest first, with name and email.
    let recent = &html[html.find("id=\"recent-title\"").unwrap()..];
    let r3 = recent.find("r3@referee.example").expect("r3 listed");
    let r1 = recent.find("r1@referee.example").expect("r1 listed");
    assert!(r3 < r1);
    assert!(recent.contains("Referee r2"));

    assert!(html.contains(&format!("{}/join/acme", app.state.settings.base_url)), "the landing page URL");
    assert!(html.contains("href=\"/admin/programs/acme/participants\""));
    assert!(html.contains("href=\"/admin/programs/acme/edit\""));
}

#[actix_web::test]
async fn an_unknown_program_is_not_found() {
    let app = spawn_app().await;
    app.setup_owner().await;
    assert_eq!(app.get("/admin/programs/nope").await.status(), 404);
    assert_eq!(app.get("/admin/programs/nope/edit").await.status(), 404);
}
