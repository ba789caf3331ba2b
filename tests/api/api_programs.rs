//! `PUT`/`GET /api/v1/programs/{program}` and participant enrolment over
//! the JSON API.

use serde_json::{Value, json};

use crate::helpers::*;

async fn key(app: &TestApp) -> String {
    goodword::services::api_keys::create(&app.state.db, "test".into(), None, "ci".into(), app.state.clock.now_utc())
        .await
        .unwrap()
        .0
}

async fn send(app: &TestApp, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = browser().request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn put_acme(app: &TestApp, key: &str) {
    let body = json!({"name": "Acme", "destination_url": "https://acme.example/"});
    let (status, _) = send(app, key, reqwest::Method::PUT, "/api/v1/programs/acme", Some(body)).await;
    assert_eq!(status, 201);
}

#[actix_web::test]
async fn put_creates_then_replaces_and_get_returns_defaults_filled_in() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let body = json!({"name": "Acme friends", "destination_url": "https://acme.example/signup"});
    let (status, created) = send(&app, &key, reqwest::Method::PUT, "/api/v1/programs/acme", Some(body.clone())).await;
    assert_eq!(status, 201);
    assert_eq!(created["allowed_hosts"], json!(["acme.example"]));
    assert_eq!(created["attribution"], json!({"window_days": 30, "model": "last_click"}));
    assert_eq!(created["caps"]["per_participant_per_year"], json!({"count": 10, "amount": 50000}));
    assert_eq!(created["fraud"]["same_ip"], "hold");
    assert_eq!(created["asks"]["send_window"], json!(["09:00", "18:00"]));
    assert_eq!(created["rewards"], json!([]));

    let (status, _) = send(
        &app,
        &key,
        reqwest::Method::PUT,
        "/api/v1/programs/acme",
        Some(json!({"name": "Acme pals", "destination_url": "https://acme.example/signup"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, got) = send(&app, &key, reqwest::Method::GET, "/api/v1/programs/acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Acme pals");
    // GET's output is valid PUT input: configuration as code round-trips.
    let (status, again) = send(&app, &key, reqwest::Method::PUT, "/api/v1/programs/acme", Some(got.clone())).await;
    assert_eq!((status, again), (200, got));
}

#[actix_web::test]
async fn program_validation_names_every_bad_field() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let (status, body) = send(
        &app,
        &key,
        reqwest::Method::PUT,
        "/api/v1/programs/acme",
        Some(json!({"name": "", "destination_url": "ftp://acme.example/", "attribution": {"window_days": 0}, "colour": "red"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["colour", "name", "destination_url", "attribution.window_days"]);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("colour") && message.contains("destination_url"), "{message}");
}

#[actix_web::test]
async fn malformed_bodies_get_4xx_in_the_json_shape() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let bad_json = browser()
        .put(app.url("/api/v1/programs/acme"))
        .bearer_auth(&key)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"]["code"], "bad_request");

    let not_json =
        browser().put(app.url("/api/v1/programs/acme")).bearer_auth(&key).body("name=x").send().await.unwrap();
    assert_eq!(not_json.status(), 415);

    let huge = json!({"name": "x".repeat(70 * 1024), "destination_url": "https://acme.example/"});
    let too_big = browser().put(app.url("/api/v1/programs/acme")).bearer_auth(&key).json(&huge).send().await.unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(too_big.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");

    let (status, body) = send(&app, &key, reqwest::Method::PUT, "/api/v1/programs/Not_A_Slug", Some(json!({}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "program");
}

#[actix_web::test]
async fn the_api_refuses_requests_without_a_key() {
    let app = spawn_app().await;
    let resp = browser().get(app.url("/api/v1/programs/acme")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[actix_web::test]
async fn participant_enrolment_is_idempotent_by_external_id_then_email() {
    let app = spawn_app().await;
    let key = key(&app).await;
    put_acme(&app, &key).await;
    let path = "/api/v1/programs/acme/participants";
    let (status, first) = send(
        &app,
        &key,
        reqwest::Method::POST,
        path,
        Some(json!({"email": "Jane.Doe@Example.com", "name": "Jane Doe", "external_id": "crm-1"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(first["created"], true);
    let code = first["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert_eq!(first["link"], format!("{}/r/{code}", app.address));
    assert!(first["portal_url"].as_str().unwrap().starts_with(&format!("{}/p/", app.address)));

    // Same external id, different email: the same participant.
    let (status, again) = send(
        &app,
        &key,
        reqwest::Method::POST,
        path,
        Some(json!({"email": "jane@elsewhere.example", "name": "Jane", "external_id": "crm-1"})),
    )
    .await;
    assert_eq!((status, &again["id"], &again["created"]), (200, &first["id"], &json!(false)));
    // No external id, same mailbox with a +tag: the same participant.
    let (status, by_email) = send(
        &app,
        &key,
        reqwest::Method::POST,
        path,
        Some(json!({"email": "jane.doe+news@example.com", "name": "Jane"})),
    )
    .await;
    assert_eq!((status, &by_email["id"]), (200, &first["id"]));
    assert_eq!(by_email["portal_url"], first["portal_url"], "the portal link is stable");

    let (status, shown) =
        send(&app, &key, reqwest::Method::GET, "/api/v1/programs/acme/participants/crm-1", None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["id"], first["id"]);
    assert_eq!(shown["counts"], json!({"clicks": 0, "lead": 0, "qualified": 0, "opportunity": 0, "won": 0}));
}

#[actix_web::test]
async fn concurrent_enrolments_of_one_person_create_one_participant() {
    let app = spawn_app().await;
    let key = key(&app).await;
    put_acme(&app, &key).await;
    let requests = (0..10).map(|_| {
        send(
            &app,
            &key,
            reqwest::Method::POST,
            "/api/v1/programs/acme/participants",
            Some(json!({"email": "same@example.com", "name": "Same"})),
        )
    });
    let answers = futures_util::future::join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(answers.iter().all(|(s, b)| (*s == 201 || *s == 200) && b["id"] == answers[0].1["id"]));
}

#[actix_web::test]
async fn participant_validation_names_fields_and_unknown_ones() {
    let app = spawn_app().await;
    let key = key(&app).await;
    put_acme(&app, &key).await;
    let path = "/api/v1/programs/acme/participants";
    let (status, body) =
        send(&app, &key, reqwest::Method::POST, path, Some(json!({"email": "nope", "name": "A"}))).await;
    assert_eq!((status, body["error"]["fields"][0]["field"].as_str()), (422, Some("email")));
    let (status, body) =
        send(&app, &key, reqwest::Method::POST, path, Some(json!({"email": "a@example.com", "nickname": "A"}))).await;
    assert_eq!((status, body["error"]["fields"][0]["field"].as_str()), (422, Some("nickname")));
    let (status, _) = send(
        &app,
        &key,
        reqwest::Method::POST,
        "/api/v1/programs/nope/participants",
        Some(json!({"email": "a@example.com"})),
    )
    .await;
    assert_eq!(status, 404);
}
