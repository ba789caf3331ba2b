//! What the admin's reward pages need beyond the lifecycle itself: reward
//! rows with the people and program they name (for the list, the detail
//! page and the CSV export). (The steps an admin takes on a reward —
//! approve early, revoke, fulfil — are in [`super::lifecycle`], audited
//! there; coupon uploads are [`super::add_coupons`].)

use std::collections::HashMap;

use crate::services::ServiceResult;
use crate::storage::rewards::{self as store, EntryRow, RewardRow};
use crate::storage::{Db, DbConnection, StorageResult, participants, programs, referrals};

/// Someone a reward names, as the admin reads them.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub name: String,
    pub email: String,
}

impl Person {
    /// Their name, else their email, else a placeholder.
    pub fn label(&self) -> String {
        [&self.name, &self.email].into_iter().find(|s| !s.trim().is_empty()).cloned().unwrap_or_else(|| "—".into())
    }
}

/// A reward row with what the admin needs around it.
#[derive(Debug, Clone)]
pub struct Described {
    pub row: RewardRow,
    pub program_slug: String,
    pub program_name: String,
    /// The referrer whose referral earned it (the beneficiary of a
    /// referrer reward); `None` if the participant is gone.
    pub participant: Option<Person>,
    /// The referee, for a reward whose referral is known.
    pub referee: Option<Person>,
}

/// Rows with their program, participant and referee, each looked up once
/// per call however many rows name it.
pub async fn describe(db: &Db, rows: Vec<RewardRow>) -> ServiceResult<Vec<Described>> {
    Ok(db.run(move |conn| describe_in(conn, rows)).await?)
}

fn describe_in(conn: &mut DbConnection, rows: Vec<RewardRow>) -> StorageResult<Vec<Described>> {
    let names: HashMap<String, (String, String)> =
        programs::list(conn)?.into_iter().map(|p| (p.id, (p.slug, p.name))).collect();
    let mut people: HashMap<String, Option<Person>> = HashMap::new();
    let mut referees: HashMap<String, Option<Person>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if !people.contains_key(&row.participant_id) {
            let found = participants::find(conn, &row.participant_id)?.map(|p| Person { name: p.name, email: p.email });
            people.insert(row.participant_id.clone(), found);
        }
        let referee = match &row.referral_id {
            Some(id) => {
                if !referees.contains_key(id) {
                    let found = referrals::find(conn, id)?.map(|r| Person {
                        name: r.referee_name,
                        email: r.referee_email.or(r.referee_external_id).unwrap_or_default(),
                    });
                    referees.insert(id.clone(), found);
                }
                referees.get(id).cloned().flatten()
            }
            None => None,
        };
        let (program_slug, program_name) = names.get(&row.program_id).cloned().unwrap_or_default();
        out.push(Described {
            participant: people.get(&row.participant_id).cloned().flatten(),
            referee,
            program_slug,
            program_name,
            row,
        });
    }
    Ok(out)
}

/// One reward with its ledger (oldest first), for its admin page.
pub async fn detail(db: &Db, id: &str) -> ServiceResult<Option<(Described, Vec<EntryRow>)>> {
    let id = id.to_string();
    Ok(db
        .run(move |conn| {
            let Some(row) = store::find(conn, &id)? else { return Ok(None) };
            let entries = store::entries_for_reward(conn, &id)?;
            let described = describe_in(conn, vec![row])?.pop();
            Ok(described.map(|d| (d, entries)))
        })
        .await?)
}
