//! `/healthz`, `/readyz` and `/metrics`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};

use crate::metrics::PoolSample;
use crate::web::state::AppState;

/// The process is up.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// The database answers; 503 when it does not (within two seconds).
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("database unreachable")
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body("database did not answer in time"),
    }
}

/// Prometheus text exposition.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (open, idle) = state.db.pool_state();
    let sample = PoolSample { backend: state.db.backend(), open, idle, max: state.db.max_size() };
    let mut body = state.metrics.render(&sample);
    body.push_str(&crate::metrics::render_clicks(state.clicks.journaled(), state.clicks.loaded()));
    let sent = state.webhooks.counts();
    body.push_str(&crate::metrics::render_webhooks(
        sent.delivered.load(Ordering::Relaxed),
        sent.retried.load(Ordering::Relaxed),
        sent.failed.load(Ordering::Relaxed),
    ));
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
}
