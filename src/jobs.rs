//! Background work inside the server process.

use std::time::Duration;

use actix_web::web;

use crate::services::accounts::{SESSION_ABSOLUTE, SESSION_IDLE};
use crate::services::rewards;
use crate::storage::{sessions, webhooks};
use crate::web::state::AppState;

const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);
/// How often held rewards are released and unchosen ones expired: dates
/// are days apart, so a minute late is on time.
const REWARD_CLOCK_EVERY: Duration = Duration::from_secs(60);
/// Finished webhook deliveries are kept this long for the admin.
const WEBHOOK_HISTORY: time::Duration = time::Duration::days(30);

/// Deletes expired admin sessions, finished webhook deliveries older
/// than 30 days and participant visits whose IP salt is gone, queues the
/// day's review digest when referrals wait, and forgets idle rate-limit
/// state, every ten minutes.
/// Safe on several servers: the deletes are idempotent.
pub fn spawn_housekeeping(state: web::Data<AppState>) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(HOUSEKEEPING_EVERY);
        loop {
            tick.tick().await;
            let now = state.clock.now_utc();
            let removed = state
                .db
                .run(move |conn| sessions::delete_expired(conn, now - SESSION_IDLE, now - SESSION_ABSOLUTE))
                .await;
            match removed {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "expired admin sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session cleanup failed"),
            }
            let history =
                state.db.write(move |conn| webhooks::delete_finished_before(conn, now - WEBHOOK_HISTORY)).await;
            match history {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "old webhook deliveries deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook history cleanup failed"),
            }
            match crate::services::email::queue_review_digests(&state.db, now).await {
                Ok(n) if n > 0 => tracing::info!(queued = n, "review digests queued"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "review digests could not be queued"),
            }
            match crate::services::fraud::visits::forget_old(&state.db, now).await {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "participant visits past their salt deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "participant visit cleanup failed"),
            }
            state.limits.prune();
        }
    })
}

/// Releases held rewards whose hold ended and expires unchosen ones, every
/// minute by the injected clock. Safe on several servers: each move is a
/// conditional UPDATE and only the server that made it records it.
pub fn spawn_reward_clock(state: web::Data<AppState>) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(REWARD_CLOCK_EVERY);
        loop {
            tick.tick().await;
            let now = state.clock.now_utc();
            match rewards::lifecycle::run_due(&state.db, state.webhooks.doorbell(), now).await {
                Ok(run) if run.released + run.expired > 0 => {
                    tracing::info!(released = run.released, expired = run.expired, "reward dates reached")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reward clock failed"),
            }
        }
    })
}
