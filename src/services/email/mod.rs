//! Emails: written to the outbox in the transaction of the change that
//! causes them ([`queue`]), sent afterwards by the [`sender`] worker of
//! every server through SMTP ([`smtp`]), rendered when they are sent from
//! what they name ([`render`], [`message`]) so that rows keep no secret,
//! and easy to stop ([`unsubscribe`]). Sign-in links for the portal are
//! [`sign_in`].

pub mod admin;
pub mod message;
pub mod render;
pub mod sender;
pub mod sign_in;
pub mod smtp;
pub mod unsubscribe;

use time::PrimitiveDateTime;

use crate::domain::email_kind::EmailKind;
use crate::storage::emails::{self, EmailRow, SUPPRESSED, WAITING};
use crate::storage::participants::ParticipantRow;
use crate::storage::referrals::ReferralRow;
use crate::storage::rewards::RewardRow;
use crate::storage::{DbConnection, StorageResult, participants, referrals};

/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail<'a> {
    pub kind: EmailKind,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub program_id: Option<&'a str>,
    pub participant_id: Option<&'a str>,
    /// What it is about: a referral, a reward, a sign-in link, a user.
    pub subject_id: Option<&'a str>,
    /// At most one email per key.
    pub dedupe_key: Option<String>,
}

/// Queues `email` in the caller's transaction. An address that turned the
/// kind off gets a row marked `suppressed` (visible, never sent); a key
/// queued before adds nothing. Whether a row was added.
pub fn queue(conn: &mut DbConnection, email: NewEmail<'_>, now: PrimitiveDateTime) -> StorageResult<bool> {
    let address = email.to_address.trim().to_ascii_lowercase();
    let suppressed = email.kind.can_unsubscribe() && {
        let off = emails::suppressed_kinds(conn, &address)?;
        off.iter().any(|k| k == "all" || k == email.kind.as_str())
    };
    let row = EmailRow {
        id: crate::domain::click_id::click_id_at(now, rand::random()),
        kind: email.kind.as_str().into(),
        to_address: email.to_address.trim().to_string(),
        to_name: email.to_name.trim().to_string(),
        program_id: email.program_id.map(str::to_string),
        participant_id: email.participant_id.map(str::to_string),
        subject_id: email.subject_id.map(str::to_string),
        dedupe_key: email.dedupe_key,
        status: if suppressed { SUPPRESSED } else { WAITING }.into(),
        attempts: 0,
        next_attempt_at: now,
        first_attempt_at: None,
        lease_until: None,
        leased_by: None,
        last_error: suppressed.then(|| sender::UNSUBSCRIBED.to_string()),
        subject: None,
        sent_at: None,
        created_at: now,
    };
    emails::insert(conn, &row)
}

/// Tells the referrer that their referral joined or became a customer
/// (not for a rejected one), once per referral and kind. `referrer` is
/// the referral's participant when the caller has read it already.
pub fn referral_news(
    conn: &mut DbConnection,
    kind: EmailKind,
    referral: &ReferralRow,
    referrer: Option<&ParticipantRow>,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    if referral.review == "rejected" {
        return Ok(());
    }
    let read;
    let p = match referrer {
        Some(p) => p,
        None => match participants::find(conn, &referral.participant_id)? {
            Some(found) => {
                read = found;
                &read
            }
            None => return Ok(()),
        },
    };
    let email = NewEmail {
        kind,
        to_address: &p.email,
        to_name: &p.name,
        program_id: Some(&referral.program_id),
        participant_id: Some(&p.id),
        subject_id: Some(&referral.id),
        dedupe_key: Some(format!("{}:{}", kind.as_str(), referral.id)),
    };
    queue(conn, email, now).map(|_| ())
}

/// Tells a reward's beneficiary that it is ready to choose (the referee
/// by their own email) or what its coupon code is, once per reward and kind.
pub fn reward_news(
    conn: &mut DbConnection,
    kind: EmailKind,
    reward: &RewardRow,
    now: PrimitiveDateTime,
) -> StorageResult<()> {
    let referee = reward.beneficiary == "referee";
    let (address, name, participant_id) = if referee {
        let referral = match &reward.referral_id {
            Some(id) => referrals::find(conn, id)?,
            None => None,
        };
        match referral.and_then(|r| r.referee_email.clone().map(|e| (e, r.referee_name))) {
            Some((email, name)) => (email, name, None),
            // A referee known only by the business's id gets no email.
            None => return Ok(()),
        }
    } else {
        let Some(p) = participants::find(conn, &reward.participant_id)? else { return Ok(()) };
        (p.email, p.name, Some(p.id))
    };
    let kind = if referee && kind == EmailKind::RewardAvailable { EmailKind::RefereeReward } else { kind };
    let email = NewEmail {
        kind,
        to_address: &address,
        to_name: &name,
        program_id: Some(&reward.program_id),
        participant_id: participant_id.as_deref(),
        subject_id: Some(&reward.id),
        dedupe_key: Some(format!("{}:{}", kind.as_str(), reward.id)),
    };
    queue(conn, email, now).map(|_| ())
}

/// Queues today's review digest for every admin who reviews, when
/// referrals wait in the queue; once a day per admin (the housekeeping
/// job asks every ten minutes, on every server). How many were queued.
pub async fn queue_review_digests(
    db: &crate::storage::Db,
    now: PrimitiveDateTime,
) -> crate::services::ServiceResult<usize> {
    use crate::domain::{Permission, Role};
    Ok(db
        .write(move |conn| {
            if referrals::held_count(conn, None)? == 0 {
                return Ok(0);
            }
            let mut queued = 0;
            for user in crate::storage::admin_users::list(conn)? {
                let reviews = user.role.parse::<Role>().is_ok_and(|r| r.can(Permission::Review));
                if !reviews {
                    continue;
                }
                let email = NewEmail {
                    kind: EmailKind::ReviewDigest,
                    to_address: &user.email,
                    to_name: "",
                    program_id: None,
                    participant_id: None,
                    subject_id: None,
                    dedupe_key: Some(format!("review_digest:{}:{}", now.date(), user.id)),
                };
                if queue(conn, email, now)? {
                    queued += 1;
                }
            }
            Ok(queued)
        })
        .await?)
}
