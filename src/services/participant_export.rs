//! A program's participants with their numbers, for the admin's CSV
//! export: each one's first active link, counted clicks and referrals by
//! stage. Read a batch at a time, with the numbers grouped in one query
//! each, so a program of any size costs a handful of queries per batch.

use std::collections::HashMap;

use crate::storage::links::{self, LinkRow};
use crate::storage::participants::{self, ParticipantRow};
use crate::storage::{clicks, referrals};

use super::ServiceResult;
use super::programs::Program;

/// Participants read per query.
const BATCH: i64 = 500;

/// One participant as the export writes them.
#[derive(Debug, Clone)]
pub struct ExportedParticipant {
    pub row: ParticipantRow,
    pub link: Option<LinkRow>,
    pub clicks: i64,
    /// Referrals by stage or end state (`lead`, …, `refunded`, `rejected`).
    pub stages: HashMap<String, i64>,
}

impl ExportedParticipant {
    /// Referrals at `stage` now.
    pub fn at(&self, stage: &str) -> i64 {
        self.stages.get(stage).copied().unwrap_or(0)
    }
}

/// Every participant of `program`, in the order they enrolled.
pub async fn all(db: &crate::storage::Db, program: &Program) -> ServiceResult<Vec<ExportedParticipant>> {
    let program_id = program.id.clone();
    Ok(db
        .run(move |conn| {
            let clicks: HashMap<String, i64> = clicks::counted_by_participant(conn, &program_id)?.into_iter().collect();
            let mut stages: HashMap<String, HashMap<String, i64>> = HashMap::new();
            for (participant, stage, n) in referrals::stage_counts_by_participant(conn, &program_id)? {
                stages.entry(participant).or_default().insert(stage, n);
            }
            let mut out = Vec::new();
            loop {
                let rows = participants::in_enrolment_order(conn, &program_id, BATCH, out.len() as i64)?;
                let read = rows.len() as i64;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                // Oldest active link first: the one the participant shares.
                let mut first: HashMap<String, LinkRow> = HashMap::new();
                for link in links::primary_for(conn, &ids)? {
                    first.entry(link.participant_id.clone()).or_insert(link);
                }
                out.extend(rows.into_iter().map(|row| ExportedParticipant {
                    link: first.remove(&row.id),
                    clicks: clicks.get(&row.id).copied().unwrap_or(0),
                    stages: stages.remove(&row.id).unwrap_or_default(),
                    row,
                }));
                if read < BATCH {
                    return Ok(out);
                }
            }
        })
        .await?)
}
