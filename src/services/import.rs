//! Enrolling participants from an uploaded CSV file: every row goes
//! through the same parsing and idempotent enrolment as a single enrolment,
//! and the answer says, row by row, what became of it.

use time::PrimitiveDateTime;

use crate::crypto::Keys;
use crate::domain::FieldError;
use crate::domain::csv_import::{self, CsvError};
use crate::storage::Db;

use super::participants::{self, EnrolInput};
use super::programs::Program;

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// A new participant.
    Created,
    /// The person was enrolled before (same external id, else same
    /// normalised email, possibly earlier in this very file).
    AlreadyEnrolled,
    /// Not enrolled; each reason names its field (`email`, `row`, …).
    Refused(Vec<FieldError>),
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// The line of the file the row starts on (the header is line 1).
    pub line: usize,
    /// The email cell as written in the file.
    pub email: String,
    pub outcome: RowOutcome,
    /// The participant the row created or found.
    pub participant_id: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Every row, refused ones first, each group in file order.
    pub rows: Vec<RowReport>,
    pub created: usize,
    pub already_enrolled: usize,
    pub refused: usize,
    /// Header names the import did not use.
    pub ignored_columns: Vec<String>,
}

/// Why an import did not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as participants; nothing was enrolled.
    #[error(transparent)]
    File(#[from] CsvError),
    #[error(transparent)]
    Service(#[from] super::ServiceError),
}

/// Enrols every row of `bytes` into `program`.
///
/// Every row is parsed as the enrol form's fields are, and the good ones
/// are enrolled by [`participants::enrol_many`]: idempotent as a single
/// enrolment is, a person twice in the file is enrolled once, and a
/// person enrolled concurrently through the API is matched rather than
/// duplicated. A database failure stops the import with the chunks before
/// it kept; importing the file again finds them "already enrolled".
pub async fn import_csv(
    db: &Db,
    keys: &Keys,
    actor: String,
    program: &Program,
    bytes: &[u8],
    now: PrimitiveDateTime,
) -> Result<ImportReport, ImportError> {
    let file = csv_import::parse(bytes)?;
    let mut rows = Vec::with_capacity(file.rows.len());
    let mut inputs = Vec::new();
    // Which report row each input belongs to.
    let mut owners = Vec::new();
    for row in file.rows {
        let v = &row.values;
        let outcome = match row.problem {
            Some(problem) => RowOutcome::Refused(vec![problem]),
            None => {
                match EnrolInput::parse(&v.email, v.name.as_deref(), v.external_id.as_deref(), v.timezone.as_deref()) {
                    Err(errors) => RowOutcome::Refused(errors),
                    Ok(input) => {
                        owners.push(rows.len());
                        inputs.push(input);
                        // Settled below, once enrolled.
                        RowOutcome::AlreadyEnrolled
                    }
                }
            }
        };
        rows.push(RowReport { line: row.line, email: v.email.trim().to_string(), outcome, participant_id: None });
    }
    let enrolled = participants::enrol_many(db, keys, actor, program, inputs, now).await?;
    debug_assert_eq!(enrolled.len(), owners.len(), "one answer per input");
    for (at, enrolled) in owners.into_iter().zip(enrolled) {
        let row = &mut rows[at];
        row.outcome = if enrolled.created { RowOutcome::Created } else { RowOutcome::AlreadyEnrolled };
        row.participant_id = Some(enrolled.participant.row.id);
    }
    let mut report = ImportReport { ignored_columns: file.ignored_columns, ..ImportReport::default() };
    for row in &rows {
        match row.outcome {
            RowOutcome::Created => report.created += 1,
            RowOutcome::AlreadyEnrolled => report.already_enrolled += 1,
            RowOutcome::Refused(_) => report.refused += 1,
        }
    }
    // Refused rows first: they are what the person has to act on. The sort
    // is stable, so each group keeps the order of the file.
    rows.sort_by_key(|r| !matches!(r.outcome, RowOutcome::Refused(_)));
    report.rows = rows;
    Ok(report)
}
