//! One integration-test binary (it links once, so it builds fast); each
//! module covers one capability against a real server and database.

mod helpers;

mod admin_exports;
mod admin_participants;
mod admin_programs;
mod admin_rewards;
mod api_keys;
mod api_programs;
mod audit;
mod cli;
mod click_journal;
mod csrf;
mod emails;
mod events;
mod fraud;
mod landing;
mod login;
mod operations;
mod outage;
mod portal;
mod redirect;
mod review;
mod rewards;
mod roles;
mod sessions;
mod setup;
mod smtp_sink;
mod webhook_receiver;
mod webhooks;
