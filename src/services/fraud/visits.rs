//! A participant's own visits (their portal, the ask pages): the device
//! cookie their browser carries and the day's hash of their address with
//! their browser, which the checks compare a referee's with.

use std::net::IpAddr;

use time::PrimitiveDateTime;

use crate::crypto::SigningKey;
use crate::services::ServiceResult;
use crate::services::clicks::ip_hash::{SALT_KEEP_DAYS, day_salt, hash_ip};
use crate::storage::Db;
use crate::storage::fraud::{self, VisitRow};

use super::signals::{device_hash, user_agent_hash};

/// What a participant's own browser showed on a visit.
#[derive(Debug, Clone)]
pub struct OwnVisit {
    pub participant_id: String,
    /// The raw device cookie (kept hashed).
    pub device: String,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

/// Records the visit: the device once, the address and browser once a day.
pub async fn record(db: &Db, key: &SigningKey, visit: OwnVisit, now: PrimitiveDateTime) -> ServiceResult<()> {
    let key = key.clone();
    Ok(db
        .write(move |conn| {
            fraud::add_device(conn, &visit.participant_id, &device_hash(&visit.device), now)?;
            if let Some(ip) = visit.ip {
                let day = now.date().to_string();
                let salt = day_salt(conn, &day, now)?;
                let row = VisitRow {
                    participant_id: visit.participant_id,
                    ip_hash: hash_ip(&key, &salt, ip),
                    user_agent_hash: user_agent_hash(&visit.user_agent),
                    day,
                    at: now,
                };
                fraud::add_visit(conn, &row)?;
            }
            Ok(())
        })
        .await?)
}

/// Deletes visits whose day's salt is gone, and velocity buckets past
/// every window.
pub async fn forget_old(db: &Db, now: PrimitiveDateTime) -> ServiceResult<usize> {
    let day = (now - time::Duration::days(SALT_KEEP_DAYS)).date().to_string();
    Ok(db
        .write(move |conn| {
            let visits = fraud::delete_visits_before(conn, &day)?;
            Ok(visits + super::velocity::forget_old(conn, now)?)
        })
        .await?)
}
