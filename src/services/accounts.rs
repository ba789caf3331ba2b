//! Admin accounts: first-run setup, sign-in, server-side sessions and the
//! owner's management of admin users.

use std::str::FromStr;

use time::{Duration, PrimitiveDateTime};

use crate::crypto::{Keys, dummy_password_hash, hash_password, random_token, sha256_hex, verify_password};
use crate::domain::email_kind::EmailKind;
use crate::domain::{EmailAddress, NewPassword, Role};
use crate::storage::admin_users::{self, AdminUserRow, NewAdminUser};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::{Db, DbConnection, StorageResult, instance, sessions};

use super::email::{NewEmail, queue, sign_in};
use super::{ServiceError, ServiceResult, cpu};

/// A session ends after this long without a request…
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// …and in any case this long after sign-in.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, so that browsing the admin
/// does not turn every page view into a database write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A signed-in admin user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: PrimitiveDateTime,
}

impl TryFrom<AdminUserRow> for AdminUser {
    type Error = ServiceError;

    fn try_from(row: AdminUserRow) -> Result<Self, Self::Error> {
        let role = Role::from_str(&row.role)
            .map_err(|_| ServiceError::Conflict(format!("admin user {} has unknown role {}", row.id, row.role)))?;
        Ok(Self { id: row.id, email: row.email, role, created_at: row.created_at })
    }
}

/// A new session: the token goes into the cookie and nowhere else.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub user: AdminUser,
}

pub async fn admin_count(db: &Db) -> ServiceResult<i64> {
    Ok(db.run(admin_users::count).await?)
}

/// Creates the first owner. Fails with `Conflict` once any setup happened,
/// even when two browsers submit the setup form at the same moment.
pub async fn create_first_owner(
    db: &Db,
    email: EmailAddress,
    password: NewPassword,
    now: PrimitiveDateTime,
) -> ServiceResult<AdminUser> {
    let hash = cpu(move || hash_password(password.expose())).await?;
    let result = db
        .write(move |conn| {
            instance::insert(conn, instance::SETUP_DONE, "1", now)?;
            insert_user(conn, &email, &hash, Role::Owner, now, "setup")
        })
        .await;
    match result {
        Ok(row) => row.try_into(),
        Err(e) if e.is_unique_violation() => Err(ServiceError::Conflict("setup is already done".into())),
        Err(e) => Err(e.into()),
    }
}

/// Creates an admin user with `role`, on behalf of `actor` (an owner's email
/// or `cli`). Marks setup as done if it was not.
/// `invite`: email the new user a single-use set-password link (7 days),
/// in the same transaction (the admin pages do; the CLI reads a password).
pub async fn create_user(
    db: &Db,
    actor: String,
    email: EmailAddress,
    password: NewPassword,
    role: Role,
    invite: Option<&Keys>,
    now: PrimitiveDateTime,
) -> ServiceResult<AdminUser> {
    let hash = cpu(move || hash_password(password.expose())).await?;
    let invite = invite.cloned();
    let result = db
        .write(move |conn| {
            if instance::get(conn, instance::SETUP_DONE)?.is_none() {
                instance::insert(conn, instance::SETUP_DONE, "1", now)?;
            }
            let row = insert_user(conn, &email, &hash, role, now, &actor)?;
            if let Some(keys) = &invite {
                let link =
                    sign_in::create(conn, keys, sign_in::ADMIN_INVITATION, &row.id, sign_in::INVITATION_LIFE, now)?;
                let email = NewEmail {
                    kind: EmailKind::AdminInvitation,
                    to_address: &row.email,
                    to_name: "",
                    program_id: None,
                    participant_id: None,
                    subject_id: Some(&link),
                    dedupe_key: None,
                };
                queue(conn, email, now)?;
            }
            Ok(row)
        })
        .await;
    match result {
        Ok(row) => row.try_into(),
        Err(e) if e.is_unique_violation() => {
            Err(ServiceError::invalid("email", "an admin user with this email already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

fn insert_user(
    conn: &mut DbConnection,
    email: &EmailAddress,
    password_hash: &str,
    role: Role,
    now: PrimitiveDateTime,
    actor: &str,
) -> StorageResult<AdminUserRow> {
    let id = nanoid::nanoid!();
    admin_users::insert(
        conn,
        &NewAdminUser {
            id: &id,
            email: email.as_str(),
            password_hash,
            role: role.as_str(),
            created_at: now,
            updated_at: now,
        },
    )?;
    audit::record(
        conn,
        AuditEntry { actor, action: "admin_user.created", subject: email.as_str(), detail: &format!("role {role}") },
        now,
    )?;
    Ok(AdminUserRow {
        id,
        email: email.to_string(),
        password_hash: password_hash.to_string(),
        role: role.as_str().to_string(),
        created_at: now,
        updated_at: now,
    })
}

/// Why a sign-in failed. Unknown email and wrong password are one variant,
/// so that nobody can learn which addresses have accounts.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("that email and password do not match an account")]
    BadCredentials,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Checks the password and opens a new session (a fresh token every time:
/// a token planted before sign-in is never promoted).
pub async fn login(db: &Db, email: String, password: String, now: PrimitiveDateTime) -> Result<NewSession, LoginError> {
    let email_key = email.trim().to_lowercase();
    let row = db.run(move |conn| admin_users::find_by_email(conn, &email_key)).await.map_err(ServiceError::from)?;
    // Verify against a dummy hash when the user is unknown: both paths cost
    // one argon2 verification.
    let hash = row.as_ref().map(|r| r.password_hash.clone()).unwrap_or_else(|| dummy_password_hash().to_string());
    let matches = cpu(move || verify_password(&password, &hash)).await?;
    let Some(row) = row.filter(|_| matches) else {
        return Err(LoginError::BadCredentials);
    };
    let user = AdminUser::try_from(row)?;
    let token = random_token(32);
    let token_hash = sha256_hex(&token);
    let user_id = user.id.clone();
    let subject = user.email.clone();
    db.write(move |conn| {
        sessions::insert(conn, &token_hash, &user_id, now)?;
        audit::record(
            conn,
            AuditEntry { actor: &subject, action: "admin.signed_in", subject: &subject, detail: "" },
            now,
        )
    })
    .await
    .map_err(ServiceError::from)?;
    Ok(NewSession { token, user })
}

/// The user behind a session cookie, if the session is alive. Expired
/// sessions are deleted when met.
pub async fn authenticate(db: &Db, token: String, now: PrimitiveDateTime) -> ServiceResult<Option<AdminUser>> {
    let token_hash = sha256_hex(&token);
    let found = db
        .run(move |conn| {
            let Some((session, user)) = sessions::find_with_user(conn, &token_hash)? else {
                return Ok(None);
            };
            if session.last_seen_at + SESSION_IDLE <= now || session.created_at + SESSION_ABSOLUTE <= now {
                sessions::delete(conn, &token_hash)?;
                return Ok(None);
            }
            if session.last_seen_at + TOUCH_EVERY <= now {
                sessions::touch(conn, &token_hash, now)?;
            }
            Ok(Some(user))
        })
        .await?;
    found.map(AdminUser::try_from).transpose()
}

pub async fn logout(db: &Db, token: String) -> ServiceResult<()> {
    let token_hash = sha256_hex(&token);
    Ok(db.run(move |conn| sessions::delete(conn, &token_hash)).await?)
}

pub async fn list_users(db: &Db) -> ServiceResult<Vec<AdminUser>> {
    let rows = db.run(admin_users::list).await?;
    rows.into_iter().map(AdminUser::try_from).collect()
}

/// Changes a user's role. The last owner cannot stop being one.
pub async fn change_role(
    db: &Db,
    actor: &AdminUser,
    user_id: String,
    role: Role,
    now: PrimitiveDateTime,
) -> ServiceResult<AdminUser> {
    let actor_email = actor.email.clone();
    let row = db
        .write(move |conn| {
            let Some(user) = admin_users::find(conn, &user_id)? else {
                return Ok(Err(ServiceError::NotFound("admin user")));
            };
            if user.role == Role::Owner.as_str()
                && role != Role::Owner
                && admin_users::count_with_role(conn, Role::Owner.as_str())? <= 1
            {
                return Ok(Err(ServiceError::Conflict(
                    "the last owner cannot change role; make another user owner first".into(),
                )));
            }
            admin_users::set_role(conn, &user_id, role.as_str(), now)?;
            audit::record(
                conn,
                AuditEntry {
                    actor: &actor_email,
                    action: "admin_user.role_changed",
                    subject: &user.email,
                    detail: &format!("{} → {role}", user.role),
                },
                now,
            )?;
            Ok(Ok(AdminUserRow { role: role.as_str().to_string(), ..user }))
        })
        .await??;
    row.try_into()
}

/// Removes a user and their sessions. Nobody removes themselves or the last owner.
pub async fn remove_user(db: &Db, actor: &AdminUser, user_id: String, now: PrimitiveDateTime) -> ServiceResult<String> {
    if actor.id == user_id {
        return Err(ServiceError::Conflict("you cannot remove your own account".into()));
    }
    let actor_email = actor.email.clone();
    db.write(move |conn| {
        let Some(user) = admin_users::find(conn, &user_id)? else {
            return Ok(Err(ServiceError::NotFound("admin user")));
        };
        if user.role == Role::Owner.as_str() && admin_users::count_with_role(conn, Role::Owner.as_str())? <= 1 {
            return Ok(Err(ServiceError::Conflict("the last owner cannot be removed".into())));
        }
        sessions::delete_for_user(conn, &user_id)?;
        admin_users::delete(conn, &user_id)?;
        audit::record(
            conn,
            AuditEntry { actor: &actor_email, action: "admin_user.removed", subject: &user.email, detail: "" },
            now,
        )?;
        Ok(Ok(user.email))
    })
    .await?
}

/// Changes the signed-in user's own password after checking the current
/// one; every other session of theirs ends.
pub async fn change_password(
    db: &Db,
    user: &AdminUser,
    current: String,
    new: NewPassword,
    keep_session_token: String,
    now: PrimitiveDateTime,
) -> ServiceResult<()> {
    let user_id = user.id.clone();
    let row =
        db.run(move |conn| admin_users::find(conn, &user_id)).await?.ok_or(ServiceError::NotFound("admin user"))?;
    let stored = row.password_hash.clone();
    let (ok, hash) = cpu(move || (verify_password(&current, &stored), hash_password(new.expose()))).await?;
    if !ok {
        return Err(ServiceError::invalid("current_password", "this is not your current password"));
    }
    let email = row.email.clone();
    let keep = sha256_hex(&keep_session_token);
    db.write(move |conn| {
        admin_users::set_password_hash(conn, &row.id, &hash, now)?;
        sessions::delete_others(conn, &row.id, &keep)?;
        audit::record(
            conn,
            AuditEntry { actor: &email, action: "admin_user.password_changed", subject: &email, detail: "" },
            now,
        )?;
        // A notice to the account's own address, in the same transaction.
        let notice = NewEmail {
            kind: EmailKind::PasswordChanged,
            to_address: &email,
            to_name: "",
            program_id: None,
            participant_id: None,
            subject_id: Some(&row.id),
            dedupe_key: None,
        };
        queue(conn, notice, now).map(|_| ())
    })
    .await?;
    Ok(())
}

/// Sets an invited admin's password with their single-use link; the
/// account's email, or `None` when the link is unknown, used or expired.
pub async fn accept_invitation(
    db: &Db,
    token: &str,
    password: NewPassword,
    now: PrimitiveDateTime,
) -> ServiceResult<Option<String>> {
    let hash = cpu(move || hash_password(password.expose())).await?;
    let token_hash = sha256_hex(token);
    Ok(db
        .write(move |conn| {
            let Some(link) = crate::storage::emails::use_sign_in(conn, &token_hash, sign_in::ADMIN_INVITATION, now)?
            else {
                return Ok(None);
            };
            let Some(user) = admin_users::find(conn, &link.owner_id)? else { return Ok(None) };
            admin_users::set_password_hash(conn, &user.id, &hash, now)?;
            let entry = AuditEntry {
                actor: &user.email,
                action: "admin_user.invitation_accepted",
                subject: &user.email,
                detail: "",
            };
            audit::record(conn, entry, now)?;
            Ok(Some(user.email))
        })
        .await?)
}
