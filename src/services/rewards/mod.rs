//! Rewards: issued in the transaction of the stage change that earns them
//! ([`issue`]), then released, chosen, fulfilled, expired or revoked
//! ([`lifecycle`]), each step written to the participant's ledger with a
//! webhook ([`ledger`]). This module answers the lists the API, the
//! portal and the admin read, and takes coupon codes into pools.

pub mod admin;
pub mod issue;
pub mod json;
pub mod ledger;
pub mod lifecycle;

use std::collections::HashMap;

use time::PrimitiveDateTime;

use crate::domain::reward::CouponBatch;
use crate::services::referral_json::ParticipantRef;
use crate::services::referrals::Cursor;
use crate::storage::audit::{self, AuditEntry};
use crate::storage::rewards::{self, EntryRow, RewardFilter, RewardRow};
use crate::storage::{Db, DbConnection, StorageResult, coupons, participants, programs};

use super::ServiceResult;
use json::RewardJson;

pub async fn find(db: &Db, id: &str) -> ServiceResult<Option<RewardRow>> {
    let id = id.to_string();
    Ok(db.run(move |conn| rewards::find(conn, &id)).await?)
}

/// A page of rewards as the API shows them, and the next page's cursor.
pub async fn page(
    db: &Db,
    filter: RewardFilter,
    after: Option<Cursor>,
    limit: i64,
) -> ServiceResult<(Vec<RewardJson>, Option<Cursor>)> {
    Ok(db
        .run(move |conn| {
            let (rows, next) = rows_page(conn, &filter, after, limit)?;
            Ok((to_json_all(conn, rows)?, next))
        })
        .await?)
}

/// A page of reward rows (for the admin list and its CSV export).
pub async fn rows(
    db: &Db,
    filter: RewardFilter,
    after: Option<Cursor>,
    limit: i64,
) -> ServiceResult<(Vec<RewardRow>, Option<Cursor>)> {
    Ok(db.run(move |conn| rows_page(conn, &filter, after, limit)).await?)
}

fn rows_page(
    conn: &mut DbConnection,
    filter: &RewardFilter,
    after: Option<Cursor>,
    limit: i64,
) -> StorageResult<(Vec<RewardRow>, Option<Cursor>)> {
    let rows = rewards::page(conn, filter, after.map(|c| (c.created_at, c.id)), limit + 1)?;
    Ok(Cursor::split(rows, limit, |r| Cursor { created_at: r.created_at, id: r.id.clone() }))
}

/// Rows as JSON, with each program's slug and participant's external id
/// read once per page rather than once per row.
fn to_json_all(conn: &mut DbConnection, rows: Vec<RewardRow>) -> StorageResult<Vec<RewardJson>> {
    let slugs: HashMap<String, String> = programs::list(conn)?.into_iter().map(|p| (p.id, p.slug)).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.participant_id.clone()).collect();
    let external: HashMap<String, Option<String>> = participants::external_ids(conn, &ids)?.into_iter().collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let referee = ledger::referee_of(conn, &row)?;
        let participant = ParticipantRef {
            id: row.participant_id.clone(),
            external_id: external.get(&row.participant_id).cloned().flatten(),
        };
        let program = slugs.get(&row.program_id).cloned().unwrap_or_default();
        out.push(RewardJson::new(row, program, participant, referee));
    }
    Ok(out)
}

/// A participant's own rewards (referrer rewards), newest first.
pub async fn for_participant(db: &Db, participant_id: &str) -> ServiceResult<Vec<RewardRow>> {
    let id = participant_id.to_string();
    let rows = db.run(move |conn| rewards::for_participant(conn, &id)).await?;
    Ok(rows.into_iter().filter(|r| r.beneficiary == "referrer").collect())
}

/// Every reward a participant's referrals earned (theirs and their
/// referees'), and the ledger of all of them: the admin's view.
pub async fn ledger_for_participant(db: &Db, participant_id: &str) -> ServiceResult<(Vec<RewardRow>, Vec<EntryRow>)> {
    let id = participant_id.to_string();
    Ok(db
        .run(move |conn| Ok((rewards::for_participant(conn, &id)?, rewards::entries_for_participant(conn, &id)?)))
        .await?)
}

/// What an upload into a coupon pool did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CouponsAdded {
    /// Distinct codes in the upload.
    pub sent: usize,
    /// Of those, the ones new to the pool.
    pub added: usize,
}

/// Adds a batch of codes to a program's pool, with its audit entry in the
/// same transaction. Codes already in the pool are skipped, never handed
/// out twice. `actor` is an admin's email or `api:{key name}`.
pub async fn add_coupons(
    db: &Db,
    actor: String,
    program_id: &str,
    program_slug: &str,
    batch: CouponBatch,
    now: PrimitiveDateTime,
) -> ServiceResult<CouponsAdded> {
    let (program_id, subject) = (program_id.to_string(), format!("{program_slug}/{}", batch.pool));
    let sent = batch.codes.len();
    let added = db
        .write(move |conn| {
            let added = coupons::add(conn, &program_id, &batch.pool, &batch.codes, now)?;
            let detail = format!("{added} of {sent} codes added");
            audit::record(
                conn,
                AuditEntry { actor: &actor, action: "coupons.added", subject: &subject, detail: &detail },
                now,
            )?;
            Ok(added)
        })
        .await?;
    Ok(CouponsAdded { sent, added })
}

/// A pool's size and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCount {
    pub pool: String,
    pub total: i64,
    pub free: i64,
}

impl PoolCount {
    /// Low: fewer than 10 codes left, or under a tenth of the pool.
    pub fn is_low(&self) -> bool {
        self.free < 10 || self.free * 10 < self.total
    }
}

/// The coupon pools of a program (those with codes, and those its rules
/// name without any codes yet).
pub async fn pools(db: &Db, program_id: &str, named: Vec<String>) -> ServiceResult<Vec<PoolCount>> {
    let id = program_id.to_string();
    let counts = db.run(move |conn| coupons::pool_counts(conn, &id)).await?;
    let mut pools: Vec<PoolCount> =
        counts.into_iter().map(|(pool, total, free)| PoolCount { pool, total, free }).collect();
    for name in named {
        if !pools.iter().any(|p| p.pool == name) {
            pools.push(PoolCount { pool: name, total: 0, free: 0 });
        }
    }
    pools.sort_by(|a, b| a.pool.cmp(&b.pool));
    Ok(pools)
}

/// (status, count) of a program's rewards.
pub async fn status_counts(db: &Db, program_id: &str) -> ServiceResult<Vec<(String, i64)>> {
    let id = program_id.to_string();
    Ok(db.run(move |conn| rewards::status_counts(conn, &id)).await?)
}

/// One reward as the API shows it.
pub async fn json_of(db: &Db, row: RewardRow) -> ServiceResult<RewardJson> {
    Ok(db.run(move |conn| ledger::to_json(conn, row)).await?)
}

/// The id of the participant known by `external_id` in a program.
pub async fn participant_by_external_id(db: &Db, program_id: &str, external_id: &str) -> ServiceResult<Option<String>> {
    let (program_id, external_id) = (program_id.to_string(), external_id.to_string());
    Ok(db
        .run(move |conn| Ok(participants::find_by_external_id(conn, &program_id, &external_id)?.map(|p| p.id)))
        .await?)
}

/// The private page of a referee's reward: `/rewards/{id}.{signature}`.
/// Derived from the secret key, so it is never stored and can be given
/// out again; anyone with the address can choose, as with a gift link.
pub fn page_path(keys: &crate::crypto::Keys, reward_id: &str) -> String {
    format!("/rewards/{reward_id}.{}", keys.reward_page.sign(reward_id))
}

/// The reward id an address token names, if its signature holds.
pub fn id_from_page_token<'a>(keys: &crate::crypto::Keys, token: &'a str) -> Option<&'a str> {
    let (id, signature) = token.split_once('.')?;
    keys.reward_page.verify(id, signature).then_some(id)
}
