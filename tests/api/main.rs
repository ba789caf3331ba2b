//! One integration-test binary (it links once, so it builds fast); each
//! module covers one capability against a real server and database.

mod helpers;

mod api_keys;
mod cli;
mod csrf;
mod login;
mod operations;
mod roles;
mod sessions;
mod setup;
