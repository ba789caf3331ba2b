//! The click journal: clicks survive a crash, load exactly once, wait out
//! a locked database, and one journal serves one server.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use goodword::clock::ManualClock;
use goodword::config::{DatabaseUrl, Settings};
use goodword::startup::Application;

use crate::helpers::*;

#[actix_web::test]
async fn clicks_journaled_before_a_crash_load_exactly_once_at_the_next_start() {
    let (db, code) = database_with_a_link().await;
    let (mut server, base) = serve_binary(&db).await;
    let client = visitor();
    let mut answered = 0u64;
    for i in 0..30 {
        answered += u64::from(client.get(format!("{base}/r/{code}?c=c{i}")).send().await.unwrap().status() == 302);
    }
    // The journal is synced within 50 ms; wait until it says so, then die
    // without a chance to load anything more.
    for _ in 0..100 {
        if metric(&base, "goodword_clicks_journaled_total").await >= answered {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(metric(&base, "goodword_clicks_journaled_total").await, answered);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(click_rows_in(&db) <= answered as i64);

    let app = spawn_app_on(db, |_| {}).await;
    let rows = clicks(&app).await;
    assert_eq!(rows.len() as u64, answered, "every click, none twice");
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, answered);
}

#[actix_web::test]
async fn clicks_recorded_while_the_database_is_locked_load_once_it_is_free() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let url = app.url(&format!("/r/{code}"));
    // The code is cached and the day's IP salt read before the lock.
    assert_eq!(visitor().get(&url).send().await.unwrap().status(), 302);
    app.state.clicks.flush().await;

    // Another connection holds the clicks table's write lock meanwhile.
    let target = app.db().url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let hold = |c: &mut dyn SimpleConnection, begin: &str| {
            c.batch_execute(begin).unwrap();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            c.batch_execute("COMMIT").unwrap();
        };
        match &target {
            DatabaseUrl::Sqlite(path) => {
                hold(&mut diesel::SqliteConnection::establish(path).unwrap(), "BEGIN IMMEDIATE");
            }
            DatabaseUrl::Postgres(url) => {
                hold(&mut diesel::PgConnection::establish(url).unwrap(), "BEGIN; LOCK TABLE clicks IN EXCLUSIVE MODE");
            }
        }
    });
    locked_rx.recv().unwrap();

    let client = visitor();
    for i in 0..20 {
        let resp = client.get(format!("{url}?c=locked{i}")).send().await.unwrap();
        assert_eq!(resp.status(), 302, "the redirect does not wait for the database");
    }
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let rows = clicks(&app).await;
    assert_eq!(rows.len(), 21);
    assert_eq!(rows.iter().filter(|r| r.channel.as_deref().is_some_and(|c| c.starts_with("locked"))).count(), 20);
}

#[actix_web::test]
async fn a_second_server_on_the_same_click_journal_is_refused() {
    let app = spawn_app().await;
    let mut settings = Settings::local(app.db().url.clone());
    settings.click_journal = app.db().journal();
    let clock = std::sync::Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let Err(err) = Application::build(settings, clock).await else {
        panic!("two servers must not share one click journal");
    };
    let message = format!("{err:#}");
    assert!(message.contains("in use by another goodword server"), "{message}");
}

#[actix_web::test]
async fn click_ids_sort_in_the_order_the_clicks_happened() {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    for _ in 0..5 {
        visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap();
        app.clock.advance(time::Duration::milliseconds(3));
    }
    let rows = clicks(&app).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "rows come back ordered by time; their ids sort the same way");
    assert!(ids.iter().all(|id| goodword::domain::click_id::is_click_id(id)));
}

#[actix_web::test]
async fn clicks_of_links_another_database_has_are_dropped_without_stopping_loading() {
    // A journal left behind by a crashed server on another database.
    let (other, other_code) = database_with_a_link().await;
    let (mut server, base) = serve_binary(&other).await;
    assert_eq!(visitor().get(format!("{base}/r/{other_code}")).send().await.unwrap().status(), 302);
    for _ in 0..100 {
        if metric(&base, "goodword_clicks_journaled_total").await >= 1 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let journal = other.journal();
    let app = spawn_app_with(move |s| s.click_journal = journal).await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    assert_eq!(visitor().get(app.url(&format!("/r/{code}"))).send().await.unwrap().status(), 302);
    let rows = clicks(&app).await;
    assert_eq!(rows.len(), 1, "this database's click loads; the stranger's is dropped");
    assert_eq!(rows[0].program_id, program.id);
}
