//! Prometheus metrics: requests by route and status, a latency histogram
//! per route, and database pool occupancy. Rendered as text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct RouteStats {
    /// (method, status) → count; a handful per route, so a list is fastest.
    requests: Vec<(String, u16, u64)>,
    latency: Histogram,
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<String, RouteStats>,
}

/// Request counters and latency histograms for the process.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Pool figures sampled when `/metrics` is scraped.
pub struct PoolSample {
    pub backend: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one answered request. `route` is the matched pattern
    /// (`/r/{code}`), never the raw path, so label cardinality stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.routes.contains_key(route) {
            inner.routes.insert(route.to_string(), RouteStats::default());
        }
        let Some(stats) = inner.routes.get_mut(route) else {
            return;
        };
        match stats.requests.iter_mut().find(|(m, s, _)| m == method && *s == status) {
            Some((_, _, n)) => *n += 1,
            None => stats.requests.push((method.to_string(), status, 1)),
        }
        let h = &mut stats.latency;
        h.count += 1;
        h.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool: &PoolSample) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP goodword_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE goodword_http_requests_total counter\n");
        for (route, stats) in &inner.routes {
            for (method, status, n) in &stats.requests {
                let _ = writeln!(
                    out,
                    "goodword_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        out.push_str("# HELP goodword_http_request_duration_seconds Time to answer HTTP requests, by route.\n");
        out.push_str("# TYPE goodword_http_request_duration_seconds histogram\n");
        for (route, stats) in &inner.routes {
            let h = &stats.latency;
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "goodword_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "goodword_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "goodword_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "goodword_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        out.push_str("# HELP goodword_db_pool_connections Database pool connections, by state.\n");
        out.push_str("# TYPE goodword_db_pool_connections gauge\n");
        let busy = pool.open.saturating_sub(pool.idle);
        let b = pool.backend;
        let _ = writeln!(out, "goodword_db_pool_connections{{backend=\"{b}\",state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "goodword_db_pool_connections{{backend=\"{b}\",state=\"in_use\"}} {busy}");
        out.push_str("# HELP goodword_db_pool_max_connections Largest size the database pool may grow to.\n");
        out.push_str("# TYPE goodword_db_pool_max_connections gauge\n");
        let _ = writeln!(out, "goodword_db_pool_max_connections{{backend=\"{b}\"}} {}", pool.max);
        out
    }
}

/// The click pipeline's counters: journaled by this process, loaded into
/// the database by it; the difference is what still waits in the journal.
/// Webhook attempts of this server by how they ended.
pub fn render_webhooks(delivered: u64, retried: u64, failed: u64) -> String {
    format!(
        "# HELP goodword_webhook_attempts_total Webhook delivery attempts made by this server, by result.\n\
         # TYPE goodword_webhook_attempts_total counter\n\
         goodword_webhook_attempts_total{{result=\"delivered\"}} {delivered}\n\
         goodword_webhook_attempts_total{{result=\"retry\"}} {retried}\n\
         goodword_webhook_attempts_total{{result=\"failed\"}} {failed}\n"
    )
}

pub fn render_clicks(journaled: u64, loaded: u64) -> String {
    format!(
        "# HELP goodword_clicks_journaled_total Clicks written to this server's click journal.\n\
         # TYPE goodword_clicks_journaled_total counter\n\
         goodword_clicks_journaled_total {journaled}\n\
         # HELP goodword_clicks_loaded_total Clicks this server loaded from its journal into the database.\n\
         # TYPE goodword_clicks_loaded_total counter\n\
         goodword_clicks_loaded_total {loaded}\n"
    )
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let m = Metrics::new();
        m.observe("GET", "/r/{code}", 302, Duration::from_micros(300));
        m.observe("GET", "/r/{code}", 302, Duration::from_millis(20));
        let text = m.render(&PoolSample { backend: "sqlite", open: 2, idle: 1, max: 8 });
        assert!(text.contains("goodword_http_requests_total{method=\"GET\",route=\"/r/{code}\",status=\"302\"} 2"));
        assert!(text.contains("goodword_http_request_duration_seconds_bucket{route=\"/r/{code}\",le=\"0.0005\"} 1"));
        assert!(text.contains("goodword_http_request_duration_seconds_count{route=\"/r/{code}\"} 2"));
        assert!(text.contains("goodword_db_pool_connections{backend=\"sqlite\",state=\"in_use\"} 1"));
    }

    #[test]
    fn click_counters_are_rendered_as_counters() {
        let text = render_clicks(7, 5);
        assert!(text.contains("\ngoodword_clicks_journaled_total 7\n"));
        assert!(text.contains("\ngoodword_clicks_loaded_total 5\n"));
        assert!(text.contains("# TYPE goodword_clicks_loaded_total counter"));
    }
}
