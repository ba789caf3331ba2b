//! goodword: a self-hosted referral link and reward platform.
//!
//! The architecture in ten lines:
//! - `config`   typed settings from flags and environment (SPEC §2);
//! - `startup`  pool, migrations, app state and the HTTP server;
//! - `web`      routes, extractors, middleware and page rendering (askama);
//! - `services` use cases, one file per capability, async over `storage`;
//! - `domain`   pure rules and types parsed at the boundary;
//! - `storage`  the only diesel code: one schema, SQLite and PostgreSQL;
//! - `jobs`     background work in the server process;
//! - `clock`    injected time; `crypto` tokens, hashes and signatures.
//!
//! Dependencies point one way: `web → services → {domain, storage}`.

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod jobs;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod storage;
pub mod web;
