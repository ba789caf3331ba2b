//! The admin pages for participants: the list, enrolment one by one and by
//! CSV upload, the participant page, links and the portal link.

use goodword::domain::{ProgramSlug, Role};
use goodword::services::participants::{self, EnrolInput, Participant};
use goodword::services::programs::{self, Program};
use goodword::services::{links, participant_overview};
use reqwest::multipart::{Form, Part};

use crate::helpers::*;

const SLUG: &str = "acme";
const LIST: &str = "/admin/programs/acme/participants";
const IMPORT: &str = "/admin/programs/acme/participants/import";

/// A signed-in owner and the program `acme`.
async fn app_with_program() -> (TestApp, Program) {
    let app = spawn_app().await;
    app.setup_owner().await;
    let config = goodword::domain::program::parse_config(
        &serde_json::json!({"name": "Acme", "destination_url": "https://acme.example/signup"}),
    )
    .expect("a valid configuration");
    let (program, _) = programs::put(
        &app.state.db,
        "test".into(),
        ProgramSlug::parse(SLUG).unwrap(),
        config,
        app.state.clock.now_utc(),
    )
    .await
    .expect("program created");
    (app, program)
}

async fn everyone(app: &TestApp, program: &Program) -> Vec<Participant> {
    participants::list(&app.state.db, program, None, 1000, 0).await.expect("list").0
}

/// Enrols directly through the service.
async fn enrol(app: &TestApp, program: &Program, email: &str) -> Participant {
    let input = EnrolInput::parse(email, Some("Some One"), None, None).expect("valid input");
    participants::enrol(&app.state.db, &app.state.keys, "test".into(), program, input, app.state.clock.now_utc())
        .await
        .expect("enrolled")
        .participant
}

/// Uploads `csv` as the import form does; `token` false leaves the CSRF
/// field out.
async fn upload(app: &TestApp, client: &reqwest::Client, csv: Vec<u8>, token: bool) -> reqwest::Response {
    let html = get_with(client, &app.url(LIST)).await.text().await.unwrap();
    let mut form = Form::new();
    if token {
        form = form.text("csrf_token", csrf_in(&html));
    }
    let file = Part::bytes(csv).file_name("people.csv").mime_str("text/csv").unwrap();
    form = form.part("file", file);
    client.post(app.url(IMPORT)).header("Origin", &app.address).multipart(form).send().await.expect("request sent")
}

async fn follow(app: &TestApp, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "a successful POST redirects");
    app.get(&location(&resp)).await.text().await.unwrap()
}

#[actix_web::test]
async fn enrolling_the_same_person_again_in_another_spelling_finds_them() {
    let (app, program) = app_with_program().await;
    let first = app
        .submit(&app.client, LIST, LIST, &[("email", "Ann.Lee@Example.com"), ("name", "Ann Lee"), ("external_id", "")])
        .await;
    let page_url = location(&first);
    assert!(page_url.starts_with("/admin/participants/"), "{page_url}");
    let page = follow(&app, first).await;
    assert!(page.contains("ann.lee@example.com is enrolled with the code"), "{page}");

    let again = app.submit(&app.client, LIST, LIST, &[("email", "ANN.LEE+promo@example.COM"), ("name", "Ann")]).await;
    assert_eq!(location(&again), page_url, "the same participant's page");
    let page = follow(&app, again).await;
    assert!(page.contains("was already enrolled"), "{page}");

    let all = everyone(&app, &program).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].row.name, "Ann Lee", "the second enrolment changed nothing");
}

#[actix_web::test]
async fn a_bad_enrolment_is_shown_beside_its_fields_and_enrols_nobody() {
    let (app, program) = app_with_program().await;
    let long_id = "x".repeat(129);
    let resp = app
        .submit(
            &app.client,
            LIST,
            LIST,
            &[("email", "not-an-address"), ("name", "Bo"), ("external_id", &long_id), ("timezone", "Europe/Berlin")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="email-error""#), "email marked invalid");
    assert!(html.contains(r#"id="email-error""#));
    assert!(html.contains(r#"id="external_id-error""#));
    assert!(!html.contains(r#"id="timezone-error""#), "a good field has no error");
    assert!(html.contains(r#"value="not-an-address""#), "what was typed is kept");
    assert!(everyone(&app, &program).await.is_empty());
}

#[actix_web::test]
async fn a_csv_import_enrols_good_rows_and_reports_each_refused_row_with_its_reason() {
    let (app, program) = app_with_program().await;
    let long_id = "y".repeat(129);
    let csv = format!(
        "\u{feff}Name, EMAIL ,external_id,Timezone\r\n\
         \"Lee, Ann\",ann@example.com,crm-1,Europe/Berlin\r\n\
         Bo,bo@example.com,,\r\n\
         Cy,not-an-email,crm-3,\r\n\
         \r\n\
         Di,di@example.com,{long_id},\r\n\
         Ed,ed@example.com,crm-5,UTC\r\n"
    );
    let resp = upload(&app, &app.client, csv.clone().into_bytes(), true).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Refused rows (2)"), "{html}");
    // Refused rows come first, each with its line and the field it failed on.
    let refused_at = html.find("not-an-email").expect("the bad email row is listed");
    let long_at = html.find("di@example.com").expect("the long id row is listed");
    let enrolled_at = html.find("Enrolled rows (3)").expect("the enrolled rows follow");
    assert!(refused_at < enrolled_at && long_at < enrolled_at, "refused rows are listed first");
    assert!(html.contains("<td class=\"num\">4</td>"), "the bad email is on line 4");
    assert!(html.contains("<td class=\"num\">6</td>"), "the blank line still counts: the long id is on line 6");
    assert!(html.contains("email: an email address has one @"), "{html}");
    assert!(html.contains("external_id: use at most 128"), "{html}");

    let mut emails: Vec<_> = everyone(&app, &program).await.into_iter().map(|p| p.row.email).collect();
    emails.sort();
    assert_eq!(emails, vec!["ann@example.com", "bo@example.com", "ed@example.com"]);
    let ann = participants::get_by_external_id(&app.state.db, &app.state.keys, &program, "crm-1").await.unwrap();
    let (ann, _) = ann.expect("found by external id");
    assert_eq!(ann.row.name, "Lee, Ann", "a quoted comma stays in the name");
    assert_eq!(ann.row.timezone.as_deref(), Some("Europe/Berlin"));

    // The same file again: everyone good is already there, nobody is added.
    let again = upload(&app, &app.client, csv.into_bytes(), true).await.text().await.unwrap();
    assert!(again.contains("already enrolled"));
    assert!(!again.contains(">created<"), "no row is created twice");
    assert_eq!(everyone(&app, &program).await.len(), 3);
}

#[actix_web::test]
async fn a_csv_without_an_email_column_is_refused_with_a_clear_message() {
    let (app, program) = app_with_program().await;
    let resp = upload(&app, &app.client, b"name,external_id\nAnn,crm-1\n".to_vec(), true).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"id="file-error""#), "the message is beside the file input");
    assert!(html.contains("no “email” column"), "{html}");
    assert!(everyone(&app, &program).await.is_empty());
}

#[actix_web::test]
async fn an_upload_without_a_file_is_refused_beside_the_file_input() {
    let (app, _) = app_with_program().await;
    let html = app.get(LIST).await.text().await.unwrap();
    let form = Form::new().text("csrf_token", csrf_in(&html));
    let resp = app.client.post(app.url(IMPORT)).header("Origin", &app.address).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("choose a CSV file"));
}

#[actix_web::test]
async fn an_upload_without_a_csrf_token_or_from_another_site_is_forbidden() {
    let (app, program) = app_with_program().await;
    let csv = b"email\nann@example.com\n".to_vec();
    assert_eq!(upload(&app, &app.client, csv.clone(), false).await.status(), 403);

    let html = app.get(LIST).await.text().await.unwrap();
    let form = Form::new()
        .text("csrf_token", csrf_in(&html))
        .part("file", Part::bytes(csv).file_name("people.csv").mime_str("text/csv").unwrap());
    let resp =
        app.client.post(app.url(IMPORT)).header("Origin", "https://evil.example").multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(everyone(&app, &program).await.is_empty());
}

#[actix_web::test]
async fn a_file_over_two_mebibytes_is_refused_with_413() {
    let (app, program) = app_with_program().await;
    let mut csv = b"email\n".to_vec();
    while csv.len() <= 2 * 1024 * 1024 {
        csv.extend_from_slice(b"someone@example.com\n");
    }
    let resp = upload(&app, &app.client, csv, true).await;
    assert_eq!(resp.status(), 413);
    assert!(everyone(&app, &program).await.is_empty());
}

#[actix_web::test]
async fn a_viewer_reads_participants_but_can_neither_enrol_nor_import() {
    let (app, program) = app_with_program().await;
    app.create_user("viewer@example.com", Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    let list = get_with(&viewer, &app.url(LIST)).await;
    assert_eq!(list.status(), 200);
    assert!(!list.text().await.unwrap().contains("Enrol a participant"), "no form the viewer cannot use");

    let resp = app.submit(&viewer, LIST, LIST, &[("email", "sneaky@example.com")]).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(upload(&app, &viewer, b"email\nsneaky@example.com\n".to_vec(), true).await.status(), 403);
    assert!(everyone(&app, &program).await.is_empty());

    let ann = enrol(&app, &program, "ann@example.com").await;
    let page = format!("/admin/participants/{}", ann.row.id);
    let html = get_with(&viewer, &app.url(&page)).await.text().await.unwrap();
    assert!(html.contains("ann@example.com") && !html.contains("/disable"), "read only: {html}");
    let link = ann.link.unwrap();
    let resp = app.submit(&viewer, &page, &format!("/admin/links/{}/disable", link.id), &[]).await;
    assert_eq!(resp.status(), 403);
    let resp = app.submit(&viewer, &page, &format!("{page}/links"), &[("code", "viewer-link")]).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(participants::links_of(&app.state.db, &ann.row.id).await.unwrap().len(), 1);
    assert!(participants::links_of(&app.state.db, &ann.row.id).await.unwrap()[0].disabled_at.is_none());
}

#[actix_web::test]
async fn the_list_is_paged_by_fifty_and_searchable() {
    let (app, program) = app_with_program().await;
    for i in 0..51 {
        enrol(&app, &program, &format!("person{i:02}@example.com")).await;
    }
    // Each row links to the participant from its name and from its email.
    let rows = |html: &str| html.matches("<td><a href=\"/admin/participants/").count() / 2;
    let first = app.get(LIST).await.text().await.unwrap();
    assert_eq!(rows(&first), 50);
    assert!(first.contains("Page 1 of 2"));
    assert!(first.contains("href=\"/admin/programs/acme/participants?page=2\""));
    let second = app.get(&format!("{LIST}?page=2")).await.text().await.unwrap();
    assert_eq!(rows(&second), 1);

    let found = app.get(&format!("{LIST}?q=person07")).await.text().await.unwrap();
    assert_eq!(rows(&found), 1);
    assert!(found.contains("person07@example.com"));
    assert_eq!(app.get("/admin/programs/nope/participants").await.status(), 404);
}

#[actix_web::test]
async fn the_participant_page_shows_the_portal_link_and_a_reset_replaces_it() {
    let (app, program) = app_with_program().await;
    let ann = enrol(&app, &program, "ann@example.com").await;
    let (_, token) = participants::get(&app.state.db, &app.state.keys, &ann.row.id).await.unwrap().unwrap();
    let path = format!("/admin/participants/{}", ann.row.id);
    let page = app.get(&path).await.text().await.unwrap();
    let portal_url = format!("{}/p/{token}", app.state.settings.base_url);
    assert!(page.contains(&portal_url), "{page}");
    let code = ann.link.as_ref().unwrap().code.clone();
    assert!(page.contains(&format!("{}/r/{code}", app.state.settings.base_url)), "the full short link");

    let reset = app.submit(&app.client, &path, &format!("{path}/portal/reset"), &[]).await;
    let page = follow(&app, reset).await;
    assert!(!page.contains(&portal_url), "the old portal link is gone");
    assert!(participants::by_portal_token(&app.state.db, &token).await.unwrap().is_none(), "and no longer opens");
    let (_, new_token) = participants::get(&app.state.db, &app.state.keys, &ann.row.id).await.unwrap().unwrap();
    assert!(page.contains(&format!("/p/{new_token}")));
}

#[actix_web::test]
async fn vanity_codes_refuse_reserved_words_and_taken_codes_beside_the_field() {
    let (app, program) = app_with_program().await;
    let ann = enrol(&app, &program, "ann@example.com").await;
    let bo = enrol(&app, &program, "bo@example.com").await;
    let ann_page = format!("/admin/participants/{}", ann.row.id);
    let bo_page = format!("/admin/participants/{}", bo.row.id);

    let reserved = app.submit(&app.client, &ann_page, &format!("{ann_page}/links"), &[("code", "admin")]).await;
    assert_eq!(reserved.status(), 422);
    let html = reserved.text().await.unwrap();
    assert!(html.contains(r#"id="code-error""#) && html.contains("is reserved"), "{html}");
    assert!(html.contains(r#"aria-invalid="true""#));

    let good = app.submit(&app.client, &ann_page, &format!("{ann_page}/links"), &[("code", "Jane-Doe")]).await;
    let html = follow(&app, good).await;
    assert!(html.contains("/r/jane-doe"), "the new link is listed");
    assert!(html.contains(">vanity<"));

    let taken = app.submit(&app.client, &bo_page, &format!("{bo_page}/links"), &[("code", "jane-doe")]).await;
    assert_eq!(taken.status(), 422);
    let html = taken.text().await.unwrap();
    assert!(html.contains(r#"id="code-error""#) && html.contains("taken"), "{html}");
    assert!(html.contains(r#"value="jane-doe""#), "the typed code is kept");

    let codes: Vec<_> =
        participants::links_of(&app.state.db, &ann.row.id).await.unwrap().into_iter().map(|l| l.code).collect();
    assert_eq!(codes.len(), 2);
    assert!(codes.contains(&"jane-doe".to_string()));
    assert_eq!(participants::links_of(&app.state.db, &bo.row.id).await.unwrap().len(), 1);
}

#[actix_web::test]
async fn a_disabled_link_answers_not_found_until_it_is_enabled_again() {
    let (app, program) = app_with_program().await;
    let ann = enrol(&app, &program, "ann@example.com").await;
    let link = ann.link.clone().unwrap();
    let page = format!("/admin/participants/{}", ann.row.id);
    let short = format!("/r/{}", link.code);
    // Warm the redirect's cache, so that the disable must also reach it.
    assert_ne!(app.get(&short).await.status(), 404);

    let resp = app.submit(&app.client, &page, &format!("/admin/links/{}/disable", link.id), &[]).await;
    assert_eq!(location(&resp), page);
    assert!(follow(&app, resp).await.contains("is disabled"));
    assert_eq!(app.get(&short).await.status(), 404);
    let resolved = links::resolve(&app.state.db, &app.state.links, &link.code).await.unwrap().unwrap();
    assert!(resolved.link.disabled);

    let resp = app.submit(&app.client, &page, &format!("/admin/links/{}/enable", link.id), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_ne!(app.get(&short).await.status(), 404);
    let resolved = links::resolve(&app.state.db, &app.state.links, &link.code).await.unwrap().unwrap();
    assert!(!resolved.link.disabled);
}

#[actix_web::test]
async fn the_participant_page_counts_clicks_by_channel_and_never_shows_who_clicked() {
    let (app, program) = app_with_program().await;
    let ann = enrol(&app, &program, "ann@example.com").await;
    let code = ann.link.clone().unwrap().code;
    let friend = visitor();
    for path in ["?c=whatsapp", "?c=whatsapp", ""] {
        friend.get(app.url(&format!("/r/{code}{path}"))).send().await.unwrap();
    }
    let rows = clicks(&app).await;
    assert_eq!(rows.len(), 3);
    let overview = participant_overview::overview(&app.state.db, &app.state.keys, &ann.row.id).await.unwrap().unwrap();
    let whatsapp = overview.channels.iter().find(|c| c.channel == "whatsapp").expect("the channel is counted");
    assert_eq!((whatsapp.clicks, whatsapp.counted), (2, 1), "the repeat open is stored, not counted");
    let html = app.get(&format!("/admin/participants/{}", ann.row.id)).await.text().await.unwrap();
    assert!(html.contains("whatsapp"), "the channel is shown");
    assert!(!html.contains(&rows[0].ip_hash), "the IP hash is not");
    assert!(!html.contains(&rows[0].user_agent), "nor the user agent");
}

#[actix_web::test]
async fn an_unknown_participant_or_link_is_not_found() {
    let (app, _) = app_with_program().await;
    assert_eq!(app.get("/admin/participants/nope").await.status(), 404);
    let resp = app.submit(&app.client, "/admin", "/admin/links/nope/disable", &[]).await;
    assert_eq!(resp.status(), 404);
}

#[actix_web::test]
async fn a_person_twice_in_a_file_or_enrolled_before_is_enrolled_once() {
    let (app, program) = app_with_program().await;
    enrol(&app, &program, "ann@example.com").await;
    let csv = "email,external_id\n\
               ANN+csv@example.com,\n\
               bo@example.com,crm-2\n\
               bo.other@example.com,crm-2\n\
               cy@example.com,\n";
    let resp = upload(&app, &app.client, csv.as_bytes().to_vec(), true).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let stat = |n: usize, label: &str| {
        format!("<span class=\"stat__value\">{n}</span><span class=\"stat__label\">{label}</span>")
    };
    assert!(html.contains(&stat(2, "enrolled now")), "bo and cy: {html}");
    assert!(html.contains(&stat(2, "already enrolled")), "ann, and bo again by external id");
    assert!(html.contains(&stat(0, "refused")));
    assert_eq!(everyone(&app, &program).await.len(), 3);
}
