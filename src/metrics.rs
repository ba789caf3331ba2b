//! Prometheus metrics: requests by route and status, a latency histogram
//! per route, and database pool occupancy. Rendered as text at `/metrics`.
//!
//! Every request is counted, the redirect's included, so the counters are
//! kept in shards, one per worker thread: a single lock shared by the
//! workers would move its cache line between cores on every request. A
//! scrape adds the shards up.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Shards of the counters; threads beyond this many share them.
const SHARDS: usize = 16;

#[derive(Default, Clone)]
struct Histogram {
    /// Observations per bucket, not cumulative (one increment each); the
    /// last one is past the largest bound. Cumulated when rendered.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.sum += other.sum;
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[derive(Default, Clone)]
struct RouteStats {
    /// (method, status) → count; a handful per route, so a list is fastest.
    requests: Vec<(String, u16, u64)>,
    latency: Histogram,
}

impl RouteStats {
    fn count(&mut self, method: &str, status: u16, n: u64) {
        match self.requests.iter_mut().find(|(m, s, _)| m == method && *s == status) {
            Some((_, _, count)) => *count += n,
            None => self.requests.push((method.to_string(), status, n)),
        }
    }
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<String, RouteStats>,
}

/// One shard, on a cache line (pair) of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Inner>);

/// Request counters and latency histograms for the process.
pub struct Metrics {
    shards: Box<[Shard]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

/// Pool figures sampled when `/metrics` is scraped.
pub struct PoolSample {
    pub backend: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The calling thread's shard, handed out in turn at a thread's first request.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static INDEX: Cell<Option<usize>> = const { Cell::new(None) });
    INDEX.with(|index| {
        index.get().unwrap_or_else(|| {
            let i = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
            index.set(Some(i));
            i
        })
    })
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one answered request. `route` is the matched pattern
    /// (`/r/{code}`), never the raw path, so label cardinality stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|bound| secs <= *bound).unwrap_or(BUCKETS.len());
        let mut inner = self.shards[shard_index()].0.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match inner.routes.get_mut(route) {
            Some(stats) => stats,
            None => inner.routes.entry(route.to_string()).or_default(),
        };
        stats.count(method, status, 1);
        stats.latency.counts[bucket] += 1;
        stats.latency.sum += secs;
    }

    /// Every shard added up.
    fn totals(&self) -> BTreeMap<String, RouteStats> {
        let mut routes: BTreeMap<String, RouteStats> = BTreeMap::new();
        for shard in &self.shards {
            let inner = shard.0.lock().unwrap_or_else(|p| p.into_inner());
            for (route, stats) in &inner.routes {
                let total = routes.entry(route.clone()).or_default();
                for (method, status, n) in &stats.requests {
                    total.count(method, *status, *n);
                }
                total.latency.add(&stats.latency);
            }
        }
        routes
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool: &PoolSample) -> String {
        let routes = self.totals();
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP goodword_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE goodword_http_requests_total counter\n");
        for (route, stats) in &routes {
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
        for (route, stats) in &routes {
            let h = &stats.latency;
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "goodword_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = h.count();
            let _ =
                writeln!(out, "goodword_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "goodword_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "goodword_http_request_duration_seconds_count{{route=\"{route}\"}} {count}");
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
    fn counts_from_every_thread_add_up_and_buckets_are_cumulative() {
        let m = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        m.observe("GET", "/r/{code}", 302, Duration::from_micros(300));
                    }
                    m.observe("GET", "/r/{code}", 404, Duration::from_millis(20));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = m.render(&PoolSample { backend: "sqlite", open: 0, idle: 0, max: 1 });
        assert!(
            text.contains("goodword_http_requests_total{method=\"GET\",route=\"/r/{code}\",status=\"302\"} 1000\n")
        );
        assert!(text.contains("goodword_http_requests_total{method=\"GET\",route=\"/r/{code}\",status=\"404\"} 4\n"));
        assert!(text.contains("_bucket{route=\"/r/{code}\",le=\"0.0005\"} 1000\n"));
        assert!(text.contains("_bucket{route=\"/r/{code}\",le=\"0.01\"} 1000\n"));
        assert!(text.contains("_bucket{route=\"/r/{code}\",le=\"0.025\"} 1004\n"));
        assert!(text.contains("_bucket{route=\"/r/{code}\",le=\"+Inf\"} 1004\n"));
        assert!(text.contains("goodword_http_request_duration_seconds_count{route=\"/r/{code}\"} 1004\n"));
    }

    #[test]
    fn click_counters_are_rendered_as_counters() {
        let text = render_clicks(7, 5);
        assert!(text.contains("\ngoodword_clicks_journaled_total 7\n"));
        assert!(text.contains("\ngoodword_clicks_loaded_total 5\n"));
        assert!(text.contains("# TYPE goodword_clicks_loaded_total counter"));
    }
}
