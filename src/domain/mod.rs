//! Pure rules of the product: no actix, diesel, askama or lettre here.
//! Input is parsed into these types at the boundary; below a handler no raw
//! `String` stands for an email address, a role or a password.

pub mod email;
pub mod password;
pub mod role;

pub use email::EmailAddress;
pub use password::NewPassword;
pub use role::{Permission, Role};
