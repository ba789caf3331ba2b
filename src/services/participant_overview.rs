//! Everything the admin shows about one participant — their program,
//! links, clicks by channel, referrals and counts — read in one trip to the
//! database so that the page sees one consistent moment.

use crate::crypto::Keys;
use crate::storage::clicks::{self, ChannelClicks};
use crate::storage::links::{self, LinkRow};
use crate::storage::participants::{self, ParticipantRow};
use crate::storage::programs;
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{Db, StorageError};

use super::ServiceResult;
use super::participants::portal_token;
use super::programs::Program;

/// One participant as the admin sees them.
#[derive(Debug, Clone)]
pub struct Overview {
    pub participant: ParticipantRow,
    pub program: Program,
    /// The raw portal token, for the link the business hands out.
    pub portal_token: String,
    /// Every link, disabled ones included, oldest first.
    pub links: Vec<LinkRow>,
    /// Clicks on any of the links per channel, the busiest first.
    pub channels: Vec<ChannelClicks>,
    /// Clicks that count: neither bots nor duplicates.
    pub counted_clicks: i64,
    /// Referrals, newest first.
    pub referrals: Vec<ReferralRow>,
    /// (stage, referrals) for the stages that have any.
    pub stage_counts: Vec<(String, i64)>,
}

/// The participant `id` with everything around them; `None` if unknown.
pub async fn overview(db: &Db, keys: &Keys, id: &str) -> ServiceResult<Option<Overview>> {
    let (id, keys) = (id.to_string(), keys.clone());
    Ok(db
        .run(move |conn| {
            let Some(participant) = participants::find(conn, &id)? else { return Ok(None) };
            let Some(program) = programs::find(conn, &participant.program_id)? else { return Ok(None) };
            // An unreadable stored configuration is a fault of this server,
            // not of the request.
            let program = Program::from_row(program).map_err(|e| StorageError::Data(e.to_string()))?;
            Ok(Some(Overview {
                portal_token: portal_token(&keys, &participant.id, &participant.portal_nonce),
                links: links::for_participant(conn, &id)?,
                channels: clicks::channels_for_participant(conn, &id)?,
                counted_clicks: clicks::counted_for_participant(conn, &id)?,
                referrals: referrals::for_participant(conn, &id)?,
                stage_counts: referrals::stage_counts_for_participant(conn, &id)?,
                participant,
                program,
            }))
        })
        .await?)
}
