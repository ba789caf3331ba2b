//! Referrals: a referee's claim on the landing page creates one at stage
//! `lead`, attributed to the participant whose link brought them.

use time::PrimitiveDateTime;

use crate::crypto::SigningKey;
use crate::domain::EmailAddress;
use crate::domain::click_id;
use crate::domain::email_kind::EmailKind;
use crate::domain::program::{FraudAction, ProgramStatus, Stage};
use crate::domain::review::Review;
use crate::storage::participants;
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{Db, clicks};

use super::clicks::ClickRecorder;
use super::email;
use super::fraud::{self, Seen, SeenClick};
use super::link_cache::CachedLink;
use super::referral_json::{ChangeNote, queue_webhook};
use super::rewards::issue::{Reached, on_reached};
use super::webhooks::{Doorbell, Outbox};
use super::{ServiceError, ServiceResult};
use crate::domain::webhook::EventType;

/// What a claim came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// A new referral at stage `lead`.
    Created { referral_id: String },
    /// This referee was attributed before; a referee is attributed once.
    AlreadyReferred,
    /// The referee is the participant who shared the link (kept as a
    /// rejected referral, with its finding).
    SelfReferral,
    /// The program takes no new referrals now.
    NotAccepting,
}

/// A referee's claim through a link.
#[derive(Debug, Clone)]
pub struct Claim {
    pub email: EmailAddress,
    pub name: String,
    pub click_id: Option<String>,
}

/// How long a claim waits for this server's pending clicks to load.
const CLICK_LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The referee's click as a claim's fraud screen sees it: `(click, unrecorded)`.
///
/// The browser's cookie names the click, and its id holds the click's
/// time, which may not be loaded yet. An id saying the click came too
/// recently is taken at its word (a forged recent time only gets its
/// sender held). Otherwise the click must be recorded for this link: one
/// not found is looked for again once this server's pending clicks are
/// loaded (waiting at most [`CLICK_LOAD_WAIT`]), and an id forged with an
/// earlier time to pass the too-fast check, or taken from another link, is
/// reported as unrecorded. With the check off (`min_seconds` 0) the id's
/// time is kept without a look-up.
pub async fn claimed_click(
    db: &Db,
    recorder: &ClickRecorder,
    link_id: &str,
    click_id: &str,
    min_seconds: u32,
    now: PrimitiveDateTime,
) -> ServiceResult<(Option<SeenClick>, bool)> {
    let said =
        click_id::time_of(click_id).map(|at| SeenClick { at, ip_hash: String::new(), user_agent: String::new() });
    let too_recent = |c: &SeenClick| c.at <= now && (now - c.at).whole_seconds() < i64::from(min_seconds);
    if min_seconds == 0 || said.as_ref().is_some_and(too_recent) {
        return Ok((said, false));
    }
    let find = || {
        let id = click_id.to_string();
        db.run(move |conn| clicks::find(conn, &id))
    };
    let row = match find().await? {
        Some(row) => Some(row),
        None => {
            // Under a burst the loader lags far behind; a claim does not
            // wait for all of it, and judges its click by what was loaded.
            let _ = actix_web::rt::time::timeout(CLICK_LOAD_WAIT, recorder.flush()).await;
            find().await?
        }
    };
    Ok(match row.filter(|r| r.link_id == link_id) {
        Some(r) => (Some(SeenClick { at: r.at, ip_hash: r.ip_hash, user_agent: r.user_agent }), false),
        None => (None, true),
    })
}

/// Creates the referral for a claim, screened by the fraud checks, with
/// its `referral.created` webhook; see [`ClaimOutcome`]. `seen` is what
/// the request showed of the referee (address, browser, device cookie).
pub async fn claim(
    db: &Db,
    doorbell: &Doorbell,
    key: &SigningKey,
    link: &CachedLink,
    claim: Claim,
    seen: Seen,
    now: PrimitiveDateTime,
) -> ServiceResult<ClaimOutcome> {
    let program = &link.program;
    if program.status() != ProgramStatus::Active {
        return Ok(ClaimOutcome::NotAccepting);
    }
    let (program_id, participant_id) = (link.link.program_id.clone(), link.link.participant_id.clone());
    let (link_id, code) = (link.link.link_id.clone(), link.link.code.clone());
    let slug = program.slug.to_string();
    let program = program.clone();
    let key = key.clone();
    let result = db
        .write(move |conn| {
            let normalized = claim.email.normalized();
            let referrer = participants::find(conn, &participant_id)?;
            // The referrer's own address: a friendly word, not a lead —
            // unless the program allows it.
            let refers_self = program.config.fraud.self_referral == FraudAction::Reject
                && referrer.as_ref().is_some_and(|p| p.email_normalized == normalized);
            if referrals::find_by_referee_email(conn, &program_id, &normalized)?.is_some() {
                return Ok(if refers_self { ClaimOutcome::SelfReferral } else { ClaimOutcome::AlreadyReferred });
            }
            let id = nanoid::nanoid!();
            let mut row = ReferralRow {
                id: id.clone(),
                program_id,
                participant_id,
                link_id: Some(link_id),
                click_id: claim.click_id,
                code,
                referee_email: Some(claim.email.to_string()),
                referee_email_normalized: Some(normalized),
                referee_name: claim.name,
                referee_external_id: None,
                stage: Stage::Lead.as_str().into(),
                lead_at: Some(now),
                qualified_at: None,
                opportunity_at: None,
                won_at: None,
                created_at: now,
                updated_at: now,
                review: Review::Clear.as_str().into(),
                review_reason: None,
                referee_ip_hash: None,
            };
            let screening = fraud::screen(conn, &key, &program.config.fraud, &mut row, referrer.as_ref(), &seen, now)?;
            referrals::insert(conn, &row)?;
            let mut outbox = Outbox::new();
            fraud::keep(conn, &mut outbox, &slug, &row, &screening, now)?;
            let reached = Reached { referral: &row, from: None, to: Stage::Lead, amount: None };
            on_reached(conn, &mut outbox, &program.config, &reached, now)?;
            email::referral_news(conn, EmailKind::ReferralJoined, &row, referrer.as_ref(), now)?;
            let note = ChangeNote {
                event: EventType::ReferralCreated,
                referral_id: &id,
                program_slug: &slug,
                previous_stage: None,
                event_id: None,
            };
            queue_webhook(conn, &mut outbox, note, now)?;
            Ok(if refers_self { ClaimOutcome::SelfReferral } else { ClaimOutcome::Created { referral_id: id } })
        })
        .await;
    match result {
        Ok(outcome) => {
            // Committed: a webhook queued with it can leave now.
            doorbell.ring();
            Ok(outcome)
        }
        // The same referee claimed twice at once: the first one counts.
        Err(e) if e.is_unique_violation() => Ok(ClaimOutcome::AlreadyReferred),
        Err(e) => Err(ServiceError::from(e)),
    }
}

/// Referral counts by stage (`lead`, `qualified`, …) for a participant.
pub async fn stage_counts_for_participant(db: &Db, participant_id: &str) -> ServiceResult<Vec<(String, i64)>> {
    let id = participant_id.to_string();
    Ok(db.run(move |conn| referrals::stage_counts_for_participant(conn, &id)).await?)
}

/// A participant's referrals, newest first.
pub async fn for_participant(db: &Db, participant_id: &str) -> ServiceResult<Vec<ReferralRow>> {
    let id = participant_id.to_string();
    Ok(db.run(move |conn| referrals::for_participant(conn, &id)).await?)
}

/// Counted clicks of a participant's links.
pub async fn clicks_for_participant(db: &Db, participant_id: &str) -> ServiceResult<i64> {
    let id = participant_id.to_string();
    Ok(db.run(move |conn| clicks::counted_for_participant(conn, &id)).await?)
}

/// Where a page of referrals ends: the last one's creation time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: PrimitiveDateTime,
    pub id: String,
}

impl Cursor {
    /// Opaque to clients: base64url of `{unix nanoseconds}.{id}`.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let nanos = self.created_at.assume_utc().unix_timestamp_nanos();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{nanos}.{}", self.id))
    }

    /// Cuts rows read with one more than `limit` (the extra row tells
    /// that another page follows) into the page and the cursor of the
    /// next one, keyed by `key` of the page's last row.
    pub fn split<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Self) -> (Vec<T>, Option<Self>) {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next = if more { rows.last().map(key) } else { None };
        (rows, next)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (nanos, id) = text.split_once('.')?;
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        (!id.is_empty()).then(|| Self { created_at: PrimitiveDateTime::new(at.date(), at.time()), id: id.to_string() })
    }
}

/// A referral as the lists show it, with who its participant is.
#[derive(Debug, Clone)]
pub struct Listed {
    pub referral: ReferralRow,
    pub participant_external_id: Option<String>,
    pub participant_name: String,
    pub participant_email: String,
}

/// A page of referrals and the cursor of the next page, if there is one.
pub async fn page(
    db: &Db,
    filter: referrals::ReferralFilter,
    after: Option<Cursor>,
    limit: i64,
) -> ServiceResult<(Vec<Listed>, Option<Cursor>)> {
    Ok(db
        .run(move |conn| {
            let rows = referrals::page(conn, &filter, after.map(|c| (c.created_at, c.id)), limit + 1)?;
            let (rows, next) = Cursor::split(rows, limit, |r| Cursor { created_at: r.created_at, id: r.id.clone() });
            let ids: Vec<String> = rows.iter().map(|r| r.participant_id.clone()).collect();
            let contacts: std::collections::HashMap<String, participants::Contact> =
                participants::contacts(conn, &ids)?.into_iter().map(|c| (c.id.clone(), c)).collect();
            let listed = rows
                .into_iter()
                .map(|r| {
                    let (external_id, name, email) = contacts
                        .get(&r.participant_id)
                        .map(|c| (c.external_id.clone(), c.name.clone(), c.email.clone()))
                        .unwrap_or_default();
                    Listed {
                        participant_external_id: external_id,
                        participant_name: name,
                        participant_email: email,
                        referral: r,
                    }
                })
                .collect();
            Ok((listed, next))
        })
        .await?)
}

/// One referral's story for the admin: who, through which link and click,
/// and every event that reached it, in order.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub referral: ReferralRow,
    pub program_slug: String,
    pub program_name: String,
    pub participant_name: String,
    /// The click the referee came through, once it is loaded.
    pub click: Option<crate::storage::clicks::ClickRow>,
    pub events: Vec<crate::storage::conversion_events::EventRow>,
}

/// The timeline of referral `id`; `None` if there is no such referral.
pub async fn timeline(db: &Db, id: &str) -> ServiceResult<Option<Timeline>> {
    let id = id.to_string();
    Ok(db
        .run(move |conn| {
            let Some(referral) = referrals::find(conn, &id)? else { return Ok(None) };
            let program = crate::storage::programs::find(conn, &referral.program_id)?;
            let participant = participants::find(conn, &referral.participant_id)?;
            let click = match &referral.click_id {
                Some(click_id) => clicks::find(conn, click_id)?,
                None => None,
            };
            let events = crate::storage::conversion_events::for_referral(conn, &referral.id)?;
            Ok(Some(Timeline {
                program_slug: program.as_ref().map(|p| p.slug.clone()).unwrap_or_default(),
                program_name: program.map(|p| p.name).unwrap_or_default(),
                participant_name: participant.map(|p| p.name).unwrap_or_default(),
                click,
                events,
                referral,
            }))
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::Cursor;

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_refuses_garbage() {
        let cursor = Cursor { created_at: datetime!(2026-12-03 10:00:00.123456), id: "V1StGXR8_Z5jdHi6B-myT".into() };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "!!", "bm9kb3Q", "MTIzLg"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
