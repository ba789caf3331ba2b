//! Request handlers: extract, parse, call one service, render or redirect.

pub mod admin;
pub mod api;
pub mod health;
pub mod participant;
pub mod statics;
