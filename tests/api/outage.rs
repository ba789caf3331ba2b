//! An unavailable database: a lost PostgreSQL, or SQLite's write lock held
//! by another process past `busy_timeout`. Pages and the API answer 503
//! with `Retry-After` (a condition that passes), never a 500, and what
//! was refused is not half-written.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use goodword::config::DatabaseUrl;
use serde_json::json;

use crate::helpers::*;

async fn api_key(app: &TestApp) -> String {
    let now = app.state.clock.now_utc();
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "outage".into(), now).await.unwrap().0
}

/// Another process's connection that holds SQLite's write lock until it
/// is dropped.
fn hold_the_write_lock(db: &TestDatabase) -> SqliteConnection {
    let DatabaseUrl::Sqlite(path) = &db.url else { unreachable!("SQLite only") };
    let mut conn = SqliteConnection::establish(path).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE").unwrap();
    conn
}

#[actix_web::test]
async fn an_event_refused_by_an_unavailable_database_gets_503_with_retry_after_and_is_not_recorded() {
    let app = spawn_app().await;
    let program = create_program(&app, json!({"fraud": no_velocity_limits()})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let key = api_key(&app).await;
    let event = json!({"id": "evt-1", "type": "lead", "program": "acme", "code": code,
                       "referee": {"external_id": "friend-1"}});
    let post = || app.client.post(app.url("/api/v1/events")).bearer_auth(&key).json(&event).send();

    let lock = if app.db().is_postgres() {
        app.db().drop_now();
        None
    } else {
        Some(hold_the_write_lock(app.db()))
    };
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    assert_security_headers(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    if let Some(mut lock) = lock {
        // Released, the same event is taken: the refused attempt left nothing.
        lock.batch_execute("ROLLBACK").unwrap();
        drop(lock);
        let resp = post().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!((body["duplicate"].as_bool(), body["stage"].as_str()), (Some(false), Some("lead")), "{body}");
    }
}

#[actix_web::test]
async fn a_short_link_not_in_the_cache_gets_a_503_page_when_the_database_is_lost_and_sqlite_readers_never_wait_on_the_writer()
 {
    let app = spawn_app().await;
    let program = create_program(&app, serde_json::json!({})).await;
    let (_, code, _) = enrol(&app, &program, "jane@example.com", "Jane Doe").await;
    let open = || visitor().get(app.url(&format!("/r/{code}"))).send();

    if app.db().is_postgres() {
        app.db().drop_now();
        let resp = open().await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "5");
        assert_security_headers(&resp);
        assert!(resp.text().await.unwrap().contains("Temporarily unavailable"));
    } else {
        // A WAL reader does not wait for the writer: the link still works
        // while another process holds the write lock.
        let _lock = hold_the_write_lock(app.db());
        let resp = open().await.unwrap();
        assert_eq!(resp.status(), 302);
        assert_eq!(location(&resp), "/join/acme");
    }
}
