//! A program form's version (its last change, to the nanosecond), so that
//! a form opened before someone else saved the program is refused rather
//! than overwriting their change; shared by the program's setting pages.

use crate::services::programs::Program;

/// What the form carries back in its hidden `version` field.
pub fn version_of(program: &Program) -> String {
    program.updated_at.assume_utc().unix_timestamp_nanos().to_string()
}

/// The answer to a form whose version is not the program's any more.
pub const CHANGED_ELSEWHERE: &str = "The program was changed elsewhere since this page was opened; nothing was saved. \
     Save again to replace that change with this form, or open the page again to see it.";
