//! Unsubscribing: every email a person can turn off carries a link (and
//! the RFC 8058 headers) to `/u/{token}`, where the token names the
//! address and the kind, signed with the secret key — nothing is stored
//! until someone uses it. One POST turns that kind off; the page lists
//! every kind to turn on or off.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::PrimitiveDateTime;

use crate::crypto::Keys;
use crate::domain::email_kind::EmailKind;
use crate::services::ServiceResult;
use crate::storage::Db;
use crate::storage::emails;

/// The unsubscribe page of `address` for `kind`.
pub fn path(keys: &Keys, address: &str, kind: EmailKind) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!("{}\n{}", address.trim().to_ascii_lowercase(), kind.as_str()));
    format!("/u/{payload}.{}", keys.unsubscribe.sign(&payload))
}

/// The address and kind a token names, if its signature holds.
pub fn read(keys: &Keys, token: &str) -> Option<(String, EmailKind)> {
    let (payload, signature) = token.split_once('.')?;
    if !keys.unsubscribe.verify(payload, signature) {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let (address, kind) = text.split_once('\n')?;
    Some((address.to_string(), EmailKind::parse(kind)?))
}

/// Turns `kind` off for `address`.
pub async fn turn_off(db: &Db, address: String, kind: EmailKind, now: PrimitiveDateTime) -> ServiceResult<()> {
    Ok(db.write(move |conn| emails::suppress(conn, &address, kind.as_str(), now)).await?)
}

/// Each kind a person can turn off, and whether it is on for `address`.
pub async fn preferences(db: &Db, address: String) -> ServiceResult<Vec<(EmailKind, bool)>> {
    let off = db.run(move |conn| emails::suppressed_kinds(conn, &address)).await?;
    let all_off = off.iter().any(|k| k == "all");
    Ok(EmailKind::for_people().map(|k| (k, !all_off && !off.iter().any(|o| o == k.as_str()))).collect())
}

/// Sets which kinds `address` receives: `on` ones on, the others off.
pub async fn set_preferences(
    db: &Db,
    address: String,
    on: Vec<EmailKind>,
    now: PrimitiveDateTime,
) -> ServiceResult<()> {
    Ok(db
        .write(move |conn| {
            emails::unsuppress(conn, &address, "all")?;
            for kind in EmailKind::for_people() {
                if on.contains(&kind) {
                    emails::unsuppress(conn, &address, kind.as_str())?;
                } else {
                    emails::suppress(conn, &address, kind.as_str(), now)?;
                }
            }
            Ok(())
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_address_and_kind_and_a_forged_one_is_refused() {
        let keys = Keys::from_secret("a secret long enough for tests, really");
        let path = path(&keys, "Jane@Example.com", EmailKind::RewardExpiring);
        let token = path.strip_prefix("/u/").unwrap();
        assert_eq!(read(&keys, token), Some(("jane@example.com".into(), EmailKind::RewardExpiring)));
        let other = Keys::from_secret("another secret long enough for tests");
        assert_eq!(read(&other, token), None);
        let (payload, sig) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode("jane@example.com\nsign_in");
        assert_eq!(read(&keys, &format!("{forged}.{sig}")), None);
        assert!(read(&keys, payload).is_none());
    }
}
