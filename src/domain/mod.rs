//! Pure rules of the product: no actix, diesel, askama or lettre here.
//! Input is parsed into these types at the boundary; below a handler no raw
//! `String` stands for an email address, a code, a role or a password.

pub mod channel;
pub mod click_id;
pub mod code;
pub mod conversion;
pub mod csv_import;
pub mod destination;
pub mod disposable;
pub mod email;
pub mod email_kind;
pub mod field_error;
pub mod fraud;
pub mod password;
pub mod people;
pub mod program;
pub mod review;
pub mod reward;
pub mod rfc3339;
pub mod role;
pub mod share;
pub mod slug;
pub mod user_agent;
pub mod webhook;

pub use code::ReferralCode;
pub use email::EmailAddress;
pub use field_error::FieldError;
pub use password::NewPassword;
pub use program::ProgramConfig;
pub use role::{Permission, Role};
pub use slug::ProgramSlug;
