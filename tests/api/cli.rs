//! The commands: unknown database scheme, `migrate`, `admin create` and
//! `api-key create`, run as the real binary against a real database.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::*;

fn goodword(db: &TestDatabase, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_goodword"))
        .args(args)
        .env("DATABASE_URL", db.env_url())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn unknown_database_scheme_exits_2_naming_the_accepted_schemes() {
    let out = Command::new(env!("CARGO_BIN_EXE_goodword"))
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/goodword")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("sqlite://") && err.contains("postgres://"), "{err}");
}

#[test]
fn migrate_then_admin_create_then_api_key_create() {
    let db = TestDatabase::new();
    let out = goodword(&db, &["migrate"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = goodword(&db, &["admin", "create", "--email", "ops@example.com"], "a long enough secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = goodword(&db, &["api-key", "create", "--name", "deploy"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the key: {stdout:?}");
    assert!(stdout.trim().starts_with("gwk_"));
}

#[test]
fn admin_create_refuses_a_short_password() {
    let db = TestDatabase::new();
    let out = goodword(&db, &["admin", "create", "--email", "ops@example.com"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
}

#[actix_web::test]
async fn owner_created_by_the_cli_signs_in_and_setup_is_skipped() {
    let app = spawn_app().await;
    let out = goodword(app.db(), &["admin", "create", "--email", "ops@example.com"], "a long enough secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(app.get("/admin/setup").await.status(), 404);
    let client = browser();
    assert_eq!(app.login(&client, "ops@example.com", "a long enough secret").await.status(), 303);
}

#[actix_web::test]
async fn key_created_by_the_cli_is_accepted_by_the_api() {
    let app = spawn_app().await;
    let out = goodword(app.db(), &["api-key", "create", "--name", "deploy"], "");
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let resp = browser().get(app.url("/api/v1/me")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[actix_web::test]
async fn sigterm_writes_the_queued_clicks_before_the_process_exits() {
    let (db, code) = database_with_a_link().await;
    let (mut server, base) = serve_binary(&db).await;
    let client = visitor();
    let mut answered = 0;
    for _ in 0..40 {
        answered += usize::from(client.get(format!("{base}/r/{code}")).send().await.unwrap().status() == 302);
    }
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    assert!(exit.success(), "graceful exit: {exit:?}");
    assert_eq!(click_rows_in(&db), answered as i64, "loaded before the process exited");

    let app = spawn_app_on(db, |_| {}).await;
    assert_eq!(clicks(&app).await.len(), answered, "and not loaded twice at the next start");
}
