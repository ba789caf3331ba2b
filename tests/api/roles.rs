//! Each page checks the role it needs; the owner manages admin users.

use goodword::domain::Role;

use crate::helpers::*;

#[actix_web::test]
async fn each_role_reaches_exactly_its_pages() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("marketer@example.com", Role::Marketer).await;
    app.create_user("reviewer@example.com", Role::Reviewer).await;
    app.create_user("viewer@example.com", Role::Viewer).await;

    let expectations = [
        (OWNER_EMAIL, [200, 200, 200, 200]),
        ("marketer@example.com", [200, 200, 403, 200]),
        ("reviewer@example.com", [200, 403, 403, 200]),
        ("viewer@example.com", [200, 403, 403, 200]),
    ];
    for (email, expected) in expectations {
        let client = if email == OWNER_EMAIL { app.client.clone() } else { app.signed_in(email).await };
        for (path, status) in ["/admin", "/admin/api-keys", "/admin/users", "/admin/audit"].iter().zip(expected) {
            let got = get_with(&client, &app.url(path)).await.status().as_u16();
            assert_eq!(got, status, "{email} GET {path}");
        }
    }
}

#[actix_web::test]
async fn a_viewer_cannot_create_api_keys_even_with_a_valid_form() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("viewer@example.com", Role::Viewer).await;
    let viewer = app.signed_in("viewer@example.com").await;
    let resp = app.submit(&viewer, "/admin", "/admin/api-keys", &[("name", "sneaky")]).await;
    assert_eq!(resp.status(), 403);
    assert!(goodword::services::api_keys::list(&app.state.db).await.unwrap().is_empty());
}

#[actix_web::test]
async fn owner_adds_a_user_who_can_then_sign_in() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app
        .submit(
            &app.client,
            "/admin/users",
            "/admin/users",
            &[("email", "Maria@Example.com"), ("role", "marketer"), ("password", "temporary pass 1")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let list = app.get("/admin/users").await.text().await.unwrap();
    assert!(list.contains("maria@example.com"));
    let maria = browser();
    assert_eq!(app.login(&maria, "maria@example.com", "temporary pass 1").await.status(), 303);
    assert_eq!(get_with(&maria, &app.url("/admin/api-keys")).await.status(), 200);
}

#[actix_web::test]
async fn adding_a_user_twice_names_the_email_field() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let resp = app
        .submit(
            &app.client,
            "/admin/users",
            "/admin/users",
            &[("email", OWNER_EMAIL), ("role", "viewer"), ("password", "temporary pass 1")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""), "error beside the email field");
    assert!(html.contains("already exists"));
}

#[actix_web::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("second@example.com", Role::Viewer).await;
    let users = goodword::services::accounts::list_users(&app.state.db).await.unwrap();
    let owner = users.iter().find(|u| u.email == OWNER_EMAIL).unwrap();
    let second = users.iter().find(|u| u.email == "second@example.com").unwrap();

    let resp = app
        .submit(&app.client, "/admin/users", &format!("/admin/users/{}/role", owner.id), &[("role", "viewer")])
        .await;
    assert_eq!(resp.status(), 303);
    let page = app.get("/admin/users").await.text().await.unwrap();
    assert!(page.contains("the last owner cannot change role"));

    // Promote the second user; now the first owner may step down.
    app.submit(&app.client, "/admin/users", &format!("/admin/users/{}/role", second.id), &[("role", "owner")]).await;
    let roles: Vec<_> = goodword::services::accounts::list_users(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.email, u.role))
        .collect();
    assert!(roles.contains(&("second@example.com".into(), Role::Owner)));

    let removed = app.submit(&app.client, "/admin/users", &format!("/admin/users/{}/delete", second.id), &[]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(goodword::services::accounts::admin_count(&app.state.db).await.unwrap(), 1);
}

#[actix_web::test]
async fn removing_a_user_signs_them_out() {
    let app = spawn_app().await;
    app.setup_owner().await;
    app.create_user("leaver@example.com", Role::Marketer).await;
    let leaver = app.signed_in("leaver@example.com").await;
    let id = goodword::services::accounts::list_users(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == "leaver@example.com")
        .unwrap()
        .id;
    app.submit(&app.client, "/admin/users", &format!("/admin/users/{id}/delete"), &[]).await;
    assert_eq!(get_with(&leaver, &app.url("/admin")).await.status(), 303);
}
