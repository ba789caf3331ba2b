//! Health, readiness, metrics, security headers, error shapes and limits.

use crate::helpers::*;

#[actix_web::test]
async fn security_headers_are_on_a_404_page() {
    let app = spawn_app().await;
    let resp = app.get("/no/such/page").await;
    assert_eq!(resp.status(), 404);
    assert_security_headers(&resp);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("Page not found"));
}

#[actix_web::test]
async fn api_404_is_json_with_security_headers() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/nothing-here").await;
    assert_eq!(resp.status(), 404);
    assert_security_headers(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[actix_web::test]
async fn wrong_method_gets_a_page_not_an_empty_body() {
    let app = spawn_app().await;
    let resp = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert!(resp.status().is_client_error());
    assert_security_headers(&resp);
    assert!(!resp.text().await.unwrap().is_empty());
}

#[actix_web::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[actix_web::test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    if app.db().is_postgres() {
        app.db().drop_now();
    } else {
        // Replace the SQLite file by a folder: new connections cannot open
        // it, and the pool's existing ones are told to go away.
        let goodword::config::DatabaseUrl::Sqlite(path) = &app.db().url else { unreachable!() };
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        std::fs::create_dir(path).unwrap();
    }
    // Connections opened before the loss may answer once more; readiness
    // must turn 503 as soon as the pool notices.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(app.get("/readyz").await.status().as_u16());
        if statuses.last() == Some(&503) {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/nope").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"goodword_http_requests_total{method="GET",route="/healthz",status="200"} 2"#), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(text.contains("goodword_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"));
    assert!(text.contains("goodword_db_pool_connections{"));
}

#[actix_web::test]
async fn form_body_over_16_kib_gets_413() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let big = "x".repeat(17 * 1024);
    let resp = app.submit(&app.client, "/admin/api-keys", "/admin/api-keys", &[("name", &big)]).await;
    assert_eq!(resp.status(), 413);
    assert_security_headers(&resp);
}

#[actix_web::test]
async fn stylesheet_is_served_from_the_binary() {
    let app = spawn_app().await;
    let resp = app.get("/static/css/goodword.css").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(resp.text().await.unwrap().contains(":root"));
}

#[actix_web::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync() {
    let app = spawn_app().await;
    if app.db().is_postgres() {
        // The pragmas are SQLite's; on PostgreSQL check the connection works.
        assert_eq!(app.get("/readyz").await.status(), 200);
        return;
    }
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Int {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        v: i32,
    }
    let mut conn = app.state.db.get().unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(&mut *conn).unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let fk: Int =
        diesel::sql_query("SELECT foreign_keys AS v FROM pragma_foreign_keys").get_result(&mut *conn).unwrap();
    assert_eq!(fk.v, 1);
    let sync: Int =
        diesel::sql_query("SELECT synchronous AS v FROM pragma_synchronous").get_result(&mut *conn).unwrap();
    assert_eq!(sync.v, 2, "FULL is 2");
    // Built with the query planner stability guarantee (.cargo/config.toml):
    // cached statements are not prepared again each time LIMIT is bound.
    let qpsg: Int =
        diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS v").get_result(&mut *conn).unwrap();
    assert_eq!(qpsg.v, 1);
}

#[actix_web::test]
async fn migration_folders_of_both_backends_have_the_same_names() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| {
                assert!(e.path().join("up.sql").is_file(), "{:?} has up.sql", e.path());
                assert!(e.path().join("down.sql").is_file(), "{:?} has down.sql", e.path());
                e.file_name().to_string_lossy().into_owned()
            })
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
