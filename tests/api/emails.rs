//! Emails through a real SMTP server process: each kind arrives with both
//! parts, the right recipient, absolute links that work and the
//! unsubscribe headers; temporary failures are retried, no server keeps
//! rows visible, sign-in links work once, unsubscribing stops one kind,
//! and two servers never send one row twice.

use serde_json::{Value, json};
use time::Duration;

use crate::helpers::*;
use crate::smtp_sink::{Mail, SmtpSink};
use goodword::services::email::sender::{NO_SMTP, Run};
use goodword::storage::emails::EmailRow;

async fn app_with(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    spawn_app_with(move |s| s.smtp_url = Some(url)).await
}

/// A program that welcomes, rewards a lead at once on both sides.
async fn emailing_program(app: &TestApp) -> goodword::services::programs::Program {
    create_program(
        app,
        json!({
            "emails": {"welcome": true, "sender_name": "Acme friends", "reply_to": "team@acme.example"},
            "fraud": no_velocity_limits(),
            "rewards": [
                {"id": "thanks", "when": {"stage": "lead"}, "to": "referrer", "hold_days": 0,
                 "choose_within_days": 30, "menu": [{"kind": "coupon", "pool": "spring", "label": "25% off"}]},
                {"id": "welcome", "when": {"stage": "lead"}, "to": "referee", "hold_days": 0,
                 "menu": [{"kind": "percent_off", "percent": 20, "label": "20% off your first year"}]}]
        }),
    )
    .await
}

async fn send_due(app: &TestApp) -> Run {
    app.state.emails.run_once().await.expect("the worker runs")
}

async fn outbox(app: &TestApp) -> Vec<EmailRow> {
    app.state.db.run(|c| goodword::storage::emails::page(c, &Default::default(), 1000, 0)).await.unwrap()
}

fn path_of(app: &TestApp, url: &str) -> String {
    assert!(url.starts_with(&app.address), "an absolute link to this server: {url}");
    url[app.address.len()..].to_string()
}

fn by_subject<'a>(mails: &'a [Mail], part: &str) -> &'a Mail {
    mails
        .iter()
        .find(|m| m.subject().contains(part))
        .unwrap_or_else(|| panic!("no email about {part:?}: {:?}", mails.iter().map(Mail::subject).collect::<Vec<_>>()))
}

async fn lead_event(app: &TestApp, key: &str, code: &str, email: &str) -> Value {
    let body = json!({"id": format!("lead-{email}"), "type": "lead", "program": "acme", "code": code,
                      "referee": {"email": email, "name": "Bob Stone"}});
    let resp = app.client.post(app.url("/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn api_key(app: &TestApp) -> String {
    let now = app.state.clock.now_utc();
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "emails".into(), now).await.unwrap().0
}

#[actix_web::test]
async fn each_kind_arrives_with_both_parts_the_right_recipient_working_links_and_unsubscribe_headers() {
    let sink = SmtpSink::start(0);
    let app = app_with(&sink).await;
    let program = emailing_program(&app).await;
    let now = app.state.clock.now_utc();
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    let coupons = json!({"pool": "spring", "codes": ["SPRING-1"]});
    let url = app.url("/api/v1/programs/acme/coupons");
    assert_eq!(app.client.post(url).bearer_auth(&key).json(&coupons).send().await.unwrap().status(), 200);
    lead_event(&app, &key, &code, "bob@example.org").await;
    assert_eq!(send_due(&app).await.sent, 4, "welcome, joined, Jane's reward, Bob's reward");

    let mails = sink.messages();
    for mail in &mails {
        assert_eq!(mail.content_type, "multipart/alternative");
        assert!(!mail.text().is_empty() && mail.html.as_deref().is_some_and(|h| h.contains("<html")), "both parts");
        let unsubscribe = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
        assert!(unsubscribe.starts_with(&format!("<{}/u/", app.address)), "{unsubscribe}");
        assert_eq!(mail.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
        assert!(mail.text().contains("Stop these emails: http"), "a visible link too");
        assert!(mail.header("From").unwrap().contains("Acme friends"), "the program's sender name");
        assert_eq!(mail.header("Reply-To"), Some("team@acme.example"));
    }
    let welcome = by_subject(&mails, "Your link to share");
    assert_eq!(welcome.rcpt_tos, ["jane@example.com"]);
    assert!(welcome.text().contains(&format!("Your link: {}/r/{code}", app.address)));
    let portal = welcome.link_containing("/p/").expect("the portal link");
    assert_eq!(app.get(&path_of(&app, &portal)).await.status(), 200, "the portal link works");

    let joined = by_subject(&mails, "joined through your link");
    assert_eq!(
        (joined.rcpt_tos.as_slice(), joined.subject()),
        (["jane@example.com".to_string()].as_slice(), "Bo… S. joined through your link")
    );
    let ready = by_subject(&mails, "You earned a reward");
    assert!(ready.text().contains("Choose one of: 25% off."));
    let referee = by_subject(&mails, "Your welcome reward");
    assert_eq!(referee.rcpt_tos, ["bob@example.org"], "the referee's own reward goes to the referee");
    let page = referee.link_containing("/rewards/").expect("the reward page");
    assert_eq!(app.get(&path_of(&app, &page)).await.status(), 200);

    // Jane chooses the coupon: the code arrives.
    let reward = app
        .state
        .db
        .run(|c| goodword::storage::rewards::page(c, &Default::default(), None, 100))
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.beneficiary == "referrer")
        .unwrap();
    let doorbell = app.state.webhooks.doorbell();
    goodword::services::rewards::lifecycle::choose(&app.state.db, doorbell, &reward.id, 0, "participant", now)
        .await
        .unwrap();
    send_due(&app).await;
    let code_mail = by_subject(&sink.messages(), "Here is your code").clone();
    assert!(code_mail.text().contains("Code: SPRING-1"));

    // Won, and the reminder a week before the reward expires.
    let won = json!({"id": "won-bob", "type": "won", "program": "acme", "referee": {"email": "bob@example.org"}});
    app.client.post(app.url("/api/v1/events")).bearer_auth(&key).json(&won).send().await.unwrap();
    app.clock.advance(Duration::days(24));
    goodword::services::rewards::lifecycle::run_due(&app.state.db, doorbell, app.state.clock.now_utc()).await.unwrap();
    send_due(&app).await;
    let mails = sink.messages();
    assert_eq!(by_subject(&mails, "is now a customer").rcpt_tos, ["jane@example.com"]);
    assert_eq!(by_subject(&mails, "expires in 7 days").rcpt_tos, ["bob@example.org"], "Bob has not chosen yet");
}

#[actix_web::test]
async fn a_server_that_answers_451_twice_gets_the_email_once_on_the_third_try() {
    let sink = SmtpSink::start(2);
    let app = app_with(&sink).await;
    let program = emailing_program(&app).await;
    enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    assert_eq!(send_due(&app).await.retrying, 1);
    let row = outbox(&app).await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("waiting", 1));
    assert!(row.last_error.as_deref().unwrap().contains("451"), "{:?}", row.last_error);
    assert_eq!(send_due(&app).await, Run::default(), "not due before its backoff");
    app.clock.advance(Duration::seconds(31));
    assert_eq!(send_due(&app).await.retrying, 1);
    app.clock.advance(Duration::minutes(3));
    assert_eq!(send_due(&app).await.sent, 1);
    assert_eq!(sink.messages().len(), 1, "once");
    let row = outbox(&app).await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts, row.last_error), ("sent", 3, None));
}

#[actix_web::test]
async fn without_an_smtp_server_emails_stay_in_the_outbox_marked_unsent() {
    let app = spawn_app().await;
    let program = emailing_program(&app).await;
    enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    send_due(&app).await;
    let row = outbox(&app).await.remove(0);
    assert_eq!((row.status.as_str(), row.last_error.as_deref()), ("waiting", Some(NO_SMTP)));
}

#[actix_web::test]
async fn a_sign_in_link_works_once_and_not_after_thirty_minutes_and_unknown_addresses_get_the_same_answer() {
    let sink = SmtpSink::start(0);
    let app = app_with(&sink).await;
    let program = create_program(&app, json!({})).await;
    let (_, _, token) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let client = visitor();
    let known = app.submit(&client, "/p", "/p", &[("email", "Jane@Example.com")]).await;
    let unknown = app.submit(&client, "/p", "/p", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (200, 200));
    let (known, unknown) = (known.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(known.replace("jane@example.com", "X"), unknown.replace("nobody@example.com", "X"), "the same answer");
    send_due(&app).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the known address gets a link");
    assert_eq!(mails[0].mail_from, "goodword@localhost");
    assert!(mails[0].header("List-Unsubscribe").is_none(), "a sign-in link cannot be turned off");
    let link = path_of(&app, &mails[0].link_containing("/p/sign-in/").unwrap());

    // Opening the link (a GET, as a mail scanner would) spends nothing.
    let page = app.get(&link).await.text().await.unwrap();
    assert!(page.contains("Open my page"));
    let used = app.submit(&client, &link, &link, &[]).await;
    assert_eq!(location(&used), format!("/p/{token}"), "to the portal");
    assert_eq!(app.submit(&client, &link, &link, &[]).await.status(), 410, "once");

    // A second link, too late.
    app.submit(&client, "/p", "/p", &[("email", "jane@example.com")]).await;
    send_due(&app).await;
    let late = path_of(&app, &sink.messages()[1].link_containing("/p/sign-in/").unwrap());
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.submit(&client, &late, &late, &[]).await.status(), 410);
}

#[actix_web::test]
async fn one_click_unsubscribe_stops_that_kind_and_nothing_else() {
    let sink = SmtpSink::start(0);
    let app = app_with(&sink).await;
    let program = emailing_program(&app).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    lead_event(&app, &key, &code, "bob@example.org").await;
    send_due(&app).await;
    let joined = by_subject(&sink.messages(), "joined through your link").clone();
    let header = joined.header("List-Unsubscribe").unwrap();
    let url = header.trim_start_matches('<').trim_end_matches('>');
    // What a mail client sends (RFC 8058): no cookie, no CSRF token.
    let resp = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("you will no longer get"));

    let before = sink.messages().len();
    lead_event(&app, &key, &code, "ann@example.org").await;
    send_due(&app).await;
    let after = sink.messages();
    let new: Vec<&str> = after[before..].iter().map(Mail::subject).collect();
    assert!(!new.iter().any(|s| s.contains("joined")), "that kind stopped: {new:?}");
    assert!(new.iter().any(|s| s.contains("You earned a reward")), "the others still come: {new:?}");
    let rows = outbox(&app).await;
    assert!(rows.iter().any(|r| r.kind == "referral_joined" && r.status == "suppressed"), "kept, marked");
}

#[actix_web::test]
async fn two_servers_never_send_the_same_email() {
    let sink = SmtpSink::start(0);
    let first = app_with(&sink).await;
    let url = sink.url();
    let second = spawn_app_beside(&first, move |s| s.smtp_url = Some(url)).await;
    let program = emailing_program(&first).await;
    for i in 0..30 {
        enrol(&first, &program, &format!("p{i}@example.com"), "Pat Person").await;
    }
    // Both servers' own workers run too: every run races every other.
    for _ in 0..2 {
        tokio::join!(send_due(&first), send_due(&second));
    }
    let mut to: Vec<String> = sink.wait_for(30).await.into_iter().flat_map(|m| m.rcpt_tos).collect();
    assert_eq!(to.len(), 30);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 30, "each once");
}

#[actix_web::test]
async fn the_admin_sees_the_outbox_a_safe_preview_and_resends() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let dashboard = app.get("/admin").await.text().await.unwrap();
    assert!(dashboard.contains("no SMTP server is configured"), "the dashboard says so");
    let program = emailing_program(&app).await;
    enrol(&app, &program, "jane@example.com", "Jane <b>Doe</b>").await;
    let client = visitor();
    app.submit(&client, "/p", "/p", &[("email", "jane@example.com")]).await;
    send_due(&app).await;

    let list = app.get("/admin/emails").await.text().await.unwrap();
    assert!(list.contains("not sent: no SMTP server configured"), "each row says why");
    let rows = outbox(&app).await;
    let sign_in = rows.iter().find(|r| r.kind == "sign_in").unwrap();
    let page = app.get(&format!("/admin/emails/{}", sign_in.id)).await.text().await.unwrap();
    assert!(page.contains("Your sign-in link for Acme friends"));
    assert!(page.contains("/p/sign-in/…") && !page.contains("/p/sign-in/A"), "the secret link is replaced");
    let welcome = rows.iter().find(|r| r.kind == "welcome").unwrap();
    let page = app.get(&format!("/admin/emails/{}", welcome.id)).await.text().await.unwrap();
    assert!(
        page.contains("Acme friends &lt;goodword@localhost&gt;")
            || page.contains("Acme friends &#60;goodword@localhost&#62;"),
        "the sender"
    );
    assert!(page.contains("team@acme.example"), "the reply-to");
    let html = app.get(&format!("/admin/emails/{}/preview.html", welcome.id)).await;
    let csp = html.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.starts_with("sandbox; default-src 'none'"), "{csp}");
    let body = html.text().await.unwrap();
    assert!(body.contains("Hi Jane,") && !body.contains("<b>Doe</b>"), "the name is escaped");

    let path = format!("/admin/emails/{}", welcome.id);
    let resend = format!("{path}/resend");
    assert_eq!(app.submit(&app.client, &path, &resend, &[]).await.status(), 303);
    let again = outbox(&app).await.into_iter().find(|r| r.id == welcome.id).unwrap();
    assert_eq!((again.status.as_str(), again.attempts, again.last_error), ("waiting", 0, None));
    let audit = goodword::services::audit::recent(&app.state.db, 3).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "email.resent"));

    app.create_user("viewer@example.com", goodword::domain::Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    assert_eq!(app.submit(&viewer, &path, &resend, &[]).await.status(), 403, "a viewer reads, cannot resend");
}

#[actix_web::test]
async fn an_invited_admin_sets_a_password_once_and_a_changed_password_is_announced() {
    let sink = SmtpSink::start(0);
    let app = app_with(&sink).await;
    app.setup_owner().await;
    let fields = [("email", "rita@example.com"), ("role", "reviewer"), ("password", "a temporary password")];
    assert_eq!(app.submit(&app.client, "/admin/users", "/admin/users", &fields).await.status(), 303);
    send_due(&app).await;
    let invitation = by_subject(&sink.messages(), "You are invited").clone();
    assert_eq!(invitation.rcpt_tos, ["rita@example.com"]);
    assert!(invitation.header("List-Unsubscribe").is_none(), "an invitation cannot be turned off");
    let link = path_of(&app, &invitation.link_containing("/admin/invitation/").unwrap());

    let rita = browser();
    let mismatch = [("password", "rita's own password"), ("confirm", "something else")];
    let resp = app.submit(&rita, &link, &link, &mismatch).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"confirm-error\">the two passwords differ<"));
    let good = [("password", "rita's own password"), ("confirm", "rita's own password")];
    assert_eq!(location(&app.submit(&rita, &link, &link, &good).await), "/admin/login");
    assert_eq!(app.submit(&rita, &link, &link, &good).await.status(), 410, "once");
    let signed_in = app.login(&rita, "rita@example.com", "rita's own password").await;
    assert_eq!(signed_in.status(), 303, "the chosen password works");

    let change = [
        ("current_password", "rita's own password"),
        ("password", "an even better password"),
        ("password_confirm", "an even better password"),
    ];
    app.submit(&rita, "/admin/account", "/admin/account/password", &change).await;
    send_due(&app).await;
    let notice = by_subject(&sink.messages(), "password was changed").clone();
    assert_eq!(notice.rcpt_tos, ["rita@example.com"]);
    assert!(notice.header("List-Unsubscribe").is_none(), "a security notice cannot be turned off");
}

#[actix_web::test]
async fn reviewers_get_one_digest_a_day_while_referrals_wait() {
    let sink = SmtpSink::start(0);
    let app = app_with(&sink).await;
    app.setup_owner().await;
    app.create_user("viewer@example.com", goodword::domain::Role::Viewer).await;
    let now = app.state.clock.now_utc();
    assert_eq!(goodword::services::email::queue_review_digests(&app.state.db, now).await.unwrap(), 0, "none waits");
    let program = create_program(&app, json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    lead_event(&app, &key, &code, "someone@mailinator.com").await;
    assert_eq!(goodword::services::email::queue_review_digests(&app.state.db, now).await.unwrap(), 1);
    assert_eq!(goodword::services::email::queue_review_digests(&app.state.db, now).await.unwrap(), 0, "once a day");
    send_due(&app).await;
    let digest = by_subject(&sink.messages(), "waits for review").clone();
    assert_eq!(digest.rcpt_tos, [OWNER_EMAIL], "the owner reviews; the viewer does not");
    assert_eq!(digest.link_containing("/admin/review").map(|l| path_of(&app, &l)), Some("/admin/review".into()));
}

#[actix_web::test]
async fn a_line_break_in_the_sender_name_is_refused_when_the_program_is_saved() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let body = json!({"name": "Acme", "destination_url": "https://acme.example/",
                      "emails": {"sender_name": "Acme\r\nBcc: everyone@example.com", "reply_to": "not an address"}});
    let resp = app.client.put(app.url("/api/v1/programs/acme")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let errors: Value = resp.json().await.unwrap();
    let fields: Vec<&str> =
        errors["error"]["fields"].as_array().unwrap().iter().filter_map(|f| f["field"].as_str()).collect();
    assert!(fields.contains(&"emails.sender_name") && fields.contains(&"emails.reply_to"), "{errors}");
}
