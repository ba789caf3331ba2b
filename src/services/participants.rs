//! Participants: enrolment (idempotent by external id, else by normalised
//! email), their portal token, and reading them back.

use time::PrimitiveDateTime;

use crate::crypto::{Keys, random_token, sha256_hex};
use crate::domain::email_kind::EmailKind;
use crate::domain::{EmailAddress, FieldError};
use crate::storage::audit::{self, AuditEntry};
use crate::storage::links::{self, LinkRow};
use crate::storage::participants::{self, ParticipantRow};
use crate::storage::{Db, DbConnection, StorageResult};

use super::email::{self, NewEmail};
use super::programs::Program;
use super::{ServiceError, ServiceResult};

/// What enrolling a participant takes, already parsed.
#[derive(Debug, Clone)]
pub struct EnrolInput {
    pub email: EmailAddress,
    pub name: String,
    pub external_id: Option<String>,
    pub timezone: Option<String>,
}

impl EnrolInput {
    /// Parses the raw fields, naming every bad one.
    pub fn parse(
        email: &str,
        name: Option<&str>,
        external_id: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = EmailAddress::parse(email).map_err(|e| errors.push(FieldError::new("email", e))).ok();
        let name = name.unwrap_or("").trim().to_string();
        if name.chars().count() > 120 {
            errors.push(FieldError::new("name", "use at most 120 characters"));
        }
        if name.chars().any(char::is_control) {
            errors.push(FieldError::new("name", "use letters and punctuation only"));
        }
        let external_id = external_id.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(id) = &external_id
            && (id.chars().count() > 128 || id.chars().any(char::is_control))
        {
            errors.push(FieldError::new("external_id", "use at most 128 printable characters"));
        }
        let timezone = timezone.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(tz) = &timezone
            && !is_timezone_name(tz)
        {
            errors.push(FieldError::new("timezone", "use an IANA time zone such as Europe/Berlin"));
        }
        match email {
            Some(email) if errors.is_empty() => Ok(Self { email, name, external_id, timezone }),
            _ => Err(errors),
        }
    }
}

fn is_timezone_name(tz: &str) -> bool {
    tz == "UTC"
        || (tz.len() <= 64
            && tz.contains('/')
            && tz
                .split('/')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))))
}

/// A participant with their first active link.
#[derive(Debug, Clone)]
pub struct Participant {
    pub row: ParticipantRow,
    pub link: Option<LinkRow>,
}

/// The answer to an enrolment.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub participant: Participant,
    pub portal_token: String,
    pub created: bool,
}

/// The portal token of a participant: a MAC of their id and a random
/// nonce. Only its SHA-256 is stored; the nonce lets the admin show the
/// link again, and a new nonce revokes the old link.
pub fn portal_token(keys: &Keys, participant_id: &str, nonce: &str) -> String {
    keys.portal.sign(&format!("{participant_id}:{nonce}"))
}

fn find_existing(
    conn: &mut DbConnection,
    program_id: &str,
    input: &EnrolInput,
) -> StorageResult<Option<ParticipantRow>> {
    if let Some(ext) = &input.external_id
        && let Some(row) = participants::find_by_external_id(conn, program_id, ext)?
    {
        return Ok(Some(row));
    }
    participants::find_by_email(conn, program_id, &input.email.normalized())
}

fn with_link(conn: &mut DbConnection, row: ParticipantRow) -> StorageResult<Participant> {
    let link = links::primary_for(conn, std::slice::from_ref(&row.id))?.into_iter().next();
    Ok(Participant { row, link })
}

/// Enrols one person inside the caller's write transaction: finds them
/// (by external id, else by normalised email) or inserts them with a link.
/// `welcome`: the program sends a new participant the welcome email.
fn enrol_in(
    conn: &mut DbConnection,
    keys: &Keys,
    actor: &str,
    program_id: &str,
    welcome: bool,
    input: &EnrolInput,
    now: PrimitiveDateTime,
) -> StorageResult<Enrolled> {
    if let Some(row) = find_existing(conn, program_id, input)? {
        let token = portal_token(keys, &row.id, &row.portal_nonce);
        return Ok(Enrolled { participant: with_link(conn, row)?, portal_token: token, created: false });
    }
    let id = nanoid::nanoid!();
    let nonce = random_token(16);
    let token = portal_token(keys, &id, &nonce);
    let row = ParticipantRow {
        id: id.clone(),
        program_id: program_id.to_string(),
        external_id: input.external_id.clone(),
        email: input.email.to_string(),
        email_normalized: input.email.normalized(),
        name: input.name.clone(),
        timezone: input.timezone.clone(),
        portal_nonce: nonce,
        portal_token_hash: sha256_hex(&token),
        created_at: now,
        updated_at: now,
    };
    participants::insert(conn, &row)?;
    let link = links::insert_with_random_code(conn, program_id, &id, now)?;
    audit::record(
        conn,
        AuditEntry { actor, action: "participant.enrolled", subject: row.email.as_str(), detail: &link.code },
        now,
    )?;
    if welcome {
        let email = NewEmail {
            kind: EmailKind::Welcome,
            to_address: &row.email,
            to_name: &row.name,
            program_id: Some(program_id),
            participant_id: Some(&row.id),
            subject_id: Some(&row.id),
            dedupe_key: Some(format!("welcome:{}", row.id)),
        };
        email::queue(conn, email, now)?;
    }
    Ok(Enrolled { participant: Participant { row, link: Some(link) }, portal_token: token, created: true })
}

/// Enrols a participant, or finds the one enrolled before (by external id,
/// else by normalised email); concurrent enrolments of one person create
/// one participant.
pub async fn enrol(
    db: &Db,
    keys: &Keys,
    actor: String,
    program: &Program,
    input: EnrolInput,
    now: PrimitiveDateTime,
) -> ServiceResult<Enrolled> {
    let program_id = program.id.clone();
    let welcome = program.config.emails.welcome;
    let attempt = {
        let (program_id, input, keys) = (program_id.clone(), input.clone(), keys.clone());
        db.write(move |conn| enrol_in(conn, &keys, &actor, &program_id, welcome, &input, now)).await
    };
    match attempt {
        Ok(enrolled) => Ok(enrolled),
        // Someone enrolled the same person a moment ago: answer theirs.
        Err(e) if e.is_unique_violation() => {
            let keys = keys.clone();
            db.run(move |conn| {
                let row = find_existing(conn, &program_id, &input)?.ok_or(e)?;
                let token = portal_token(&keys, &row.id, &row.portal_nonce);
                Ok(Enrolled { participant: with_link(conn, row)?, portal_token: token, created: false })
            })
            .await
            .map_err(Into::into)
        }
        Err(e) => Err(e.into()),
    }
}

/// People enrolled per transaction by [`enrol_many`]: one commit (one
/// fsync) per row made a 10,000-row import take most of a minute, while a
/// chunk this size holds the write lock for a few milliseconds only.
const ENROL_CHUNK: usize = 250;

/// Enrols many people with the rules of [`enrol`], answering in the order
/// of `inputs`. A person who appears twice is enrolled once (the second is
/// found). Each chunk commits whole; a chunk that collides with a
/// concurrent enrolment is rolled back and done again one by one, so that
/// every race is answered as [`enrol`] answers it.
pub async fn enrol_many(
    db: &Db,
    keys: &Keys,
    actor: String,
    program: &Program,
    inputs: Vec<EnrolInput>,
    now: PrimitiveDateTime,
) -> ServiceResult<Vec<Enrolled>> {
    let mut done = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(ENROL_CHUNK) {
        let attempt = {
            let (batch, keys, actor, program_id) = (chunk.to_vec(), keys.clone(), actor.clone(), program.id.clone());
            let welcome = program.config.emails.welcome;
            db.write(move |conn| {
                batch
                    .iter()
                    .map(|input| enrol_in(conn, &keys, &actor, &program_id, welcome, input, now))
                    .collect::<StorageResult<Vec<_>>>()
            })
            .await
        };
        match attempt {
            Ok(enrolled) => done.extend(enrolled),
            Err(e) if e.is_unique_violation() => {
                for input in chunk {
                    done.push(enrol(db, keys, actor.clone(), program, input.clone(), now).await?);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// A participant by id, with their portal token.
pub async fn get(db: &Db, keys: &Keys, id: &str) -> ServiceResult<Option<(Participant, String)>> {
    let id = id.to_string();
    let keys = keys.clone();
    Ok(db
        .run(move |conn| {
            let Some(row) = participants::find(conn, &id)? else { return Ok(None) };
            let token = portal_token(&keys, &row.id, &row.portal_nonce);
            Ok(Some((with_link(conn, row)?, token)))
        })
        .await?)
}

/// A participant of `program` by the business's external id.
pub async fn get_by_external_id(
    db: &Db,
    keys: &Keys,
    program: &Program,
    external_id: &str,
) -> ServiceResult<Option<(Participant, String)>> {
    let (program_id, external_id, keys) = (program.id.clone(), external_id.to_string(), keys.clone());
    Ok(db
        .run(move |conn| {
            let Some(row) = participants::find_by_external_id(conn, &program_id, &external_id)? else {
                return Ok(None);
            };
            let token = portal_token(&keys, &row.id, &row.portal_nonce);
            Ok(Some((with_link(conn, row)?, token)))
        })
        .await?)
}

/// The participant a portal token opens.
pub async fn by_portal_token(db: &Db, token: &str) -> ServiceResult<Option<Participant>> {
    if !crate::crypto::is_token(token) {
        return Ok(None);
    }
    let hash = sha256_hex(token);
    Ok(db
        .run(move |conn| match participants::find_by_portal_hash(conn, &hash)? {
            Some(row) => Ok(Some(with_link(conn, row)?)),
            None => Ok(None),
        })
        .await?)
}

/// Gives a participant a new portal link; the old one stops working.
pub async fn reset_portal(
    db: &Db,
    keys: &Keys,
    actor: String,
    id: &str,
    now: PrimitiveDateTime,
) -> ServiceResult<String> {
    let (id, keys) = (id.to_string(), keys.clone());
    db.write(move |conn| {
        let Some(row) = participants::find(conn, &id)? else { return Ok(Err(ServiceError::NotFound("participant"))) };
        let nonce = random_token(16);
        let token = portal_token(&keys, &row.id, &nonce);
        participants::set_portal(conn, &row.id, &nonce, &sha256_hex(&token), now)?;
        audit::record(
            conn,
            AuditEntry { actor: &actor, action: "participant.portal_reset", subject: &row.email, detail: "" },
            now,
        )?;
        Ok(Ok(token))
    })
    .await?
}

/// A page of a program's participants with their first active links.
pub async fn list(
    db: &Db,
    program: &Program,
    search: Option<String>,
    limit: i64,
    offset: i64,
) -> ServiceResult<(Vec<Participant>, i64)> {
    let program_id = program.id.clone();
    Ok(db
        .run(move |conn| {
            let rows = participants::list(conn, &program_id, search.as_deref(), limit, offset)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut links = links::primary_for(conn, &ids)?;
            let total = participants::count(conn, &program_id)?;
            let list = rows
                .into_iter()
                .map(|row| {
                    let pos = links.iter().position(|l| l.participant_id == row.id);
                    Participant { link: pos.map(|p| links.swap_remove(p)), row }
                })
                .collect();
            Ok((list, total))
        })
        .await?)
}

/// Every link of a participant, disabled ones included.
pub async fn links_of(db: &Db, participant_id: &str) -> ServiceResult<Vec<LinkRow>> {
    let id = participant_id.to_string();
    Ok(db.run(move |conn| links::for_participant(conn, &id)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrol_input_names_each_bad_field() {
        let errors = EnrolInput::parse("nope", Some("Ann"), Some(&"x".repeat(200)), Some("Mars Base")).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["email", "external_id", "timezone"]);
        let ok = EnrolInput::parse(" Ann@Example.com ", None, Some(" crm-42 "), Some("Europe/Berlin")).unwrap();
        assert_eq!(ok.email.as_str(), "ann@example.com");
        assert_eq!(ok.external_id.as_deref(), Some("crm-42"));
    }
}
