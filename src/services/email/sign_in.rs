//! Sign-in links by email: a participant asks at `/p` with their address
//! and gets a single-use link to their portal (30 minutes); an invited
//! admin gets a set-password link (7 days). The token is derived from the
//! link row's id with the secret key (so the email is rendered when it is
//! sent) and only its SHA-256 is stored; using it is a conditional UPDATE,
//! so it works once.

use time::{Duration, PrimitiveDateTime};

use crate::crypto::{Keys, sha256_hex};
use crate::domain::EmailAddress;
use crate::domain::email_kind::EmailKind;
use crate::services::ServiceResult;
use crate::services::participants::portal_token;
use crate::storage::emails::{self as rows, SignInRow};
use crate::storage::{Db, DbConnection, StorageResult, participants};

use super::{NewEmail, queue};

pub const PORTAL: &str = "portal";
pub const ADMIN_INVITATION: &str = "admin_invitation";
/// How long a portal sign-in link works.
pub const PORTAL_LINK_LIFE: Duration = Duration::minutes(30);
/// How long an admin invitation works.
pub const INVITATION_LIFE: Duration = Duration::days(7);

fn token(keys: &Keys, id: &str) -> String {
    keys.sign_in.sign(id)
}

/// The portal sign-in address of link `id`.
pub fn portal_path(keys: &Keys, id: &str) -> String {
    format!("/p/sign-in/{}", token(keys, id))
}

/// The set-password address of invitation `id`.
pub fn invitation_path(keys: &Keys, id: &str) -> String {
    format!("/admin/invitation/{}", token(keys, id))
}

/// Creates a link row for `owner_id`; its id (the email names it).
pub fn create(
    conn: &mut DbConnection,
    keys: &Keys,
    purpose: &str,
    owner_id: &str,
    life: Duration,
    now: PrimitiveDateTime,
) -> StorageResult<String> {
    let id = nanoid::nanoid!();
    rows::insert_sign_in(
        conn,
        &SignInRow {
            token_hash: sha256_hex(&token(keys, &id)),
            id: id.clone(),
            purpose: purpose.into(),
            owner_id: owner_id.into(),
            expires_at: now + life,
            used_at: None,
            created_at: now,
        },
    )?;
    Ok(id)
}

/// Sends a portal sign-in link to every participant enrolled with
/// `email` (one per program). Answers the same whether or not the address
/// is known; how many links went out is for the logs only.
pub async fn request_portal_links(
    db: &Db,
    keys: &Keys,
    email: &EmailAddress,
    now: PrimitiveDateTime,
) -> ServiceResult<usize> {
    let (keys, normalized) = (keys.clone(), email.normalized());
    Ok(db
        .write(move |conn| {
            let found = participants::find_all_by_email(conn, &normalized)?;
            for p in &found {
                let id = create(conn, &keys, PORTAL, &p.id, PORTAL_LINK_LIFE, now)?;
                let email = NewEmail {
                    kind: EmailKind::SignIn,
                    to_address: &p.email,
                    to_name: &p.name,
                    program_id: Some(&p.program_id),
                    participant_id: Some(&p.id),
                    subject_id: Some(&id),
                    dedupe_key: None,
                };
                queue(conn, email, now)?;
            }
            Ok(found.len())
        })
        .await?)
}

/// Uses a portal sign-in token: the participant's portal token, once;
/// `None` if the link is unknown, used or expired.
pub async fn use_portal_link(
    db: &Db,
    keys: &Keys,
    token: &str,
    now: PrimitiveDateTime,
) -> ServiceResult<Option<String>> {
    let (keys, hash) = (keys.clone(), sha256_hex(token));
    Ok(db
        .write(move |conn| {
            let Some(link) = rows::use_sign_in(conn, &hash, PORTAL, now)? else { return Ok(None) };
            Ok(participants::find(conn, &link.owner_id)?.map(|p| portal_token(&keys, &p.id, &p.portal_nonce)))
        })
        .await?)
}
