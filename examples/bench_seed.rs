//! Seeds a SQLite database for `bench/redirect.sh`, and counts its clicks.
//!
//! - `bench_seed seed <db path> <codes file> [participants]`: creates the
//!   program `bench` and N participants (default 10,000), one link each,
//!   and writes every code to the codes file, one per line.
//! - `bench_seed count <db path>`: prints the number of rows in `clicks`.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::future::join_all;

use goodword::clock::{Clock, SystemClock};
use goodword::config::{DatabaseUrl, Settings, SqliteSynchronous};
use goodword::crypto::Keys;
use goodword::domain::ProgramSlug;
use goodword::domain::program::parse_config;
use goodword::services::participants::{self, EnrolInput};
use goodword::services::programs;
use goodword::startup::open_database;
use goodword::storage::{self, Db};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";
/// Enrolments in flight at once (each is its own write transaction).
const CHUNK: usize = 64;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["seed", db, codes] => seed(db, codes, 10_000),
        ["seed", db, codes, n] => seed(db, codes, n.parse().context("participants must be a number")?),
        ["count", db] => count(db),
        _ => bail!("usage: bench_seed seed <db path> <codes file> [participants] | bench_seed count <db path>"),
    }
}

/// Seeding commits one transaction per participant: `synchronous=NORMAL`
/// (WAL) spares an fsync per commit there. The server under test keeps its
/// own setting (`full` by default).
fn settings(path: &str) -> Settings {
    let mut settings = Settings::local(DatabaseUrl::Sqlite(path.to_string()));
    settings.sqlite_synchronous = SqliteSynchronous::Normal;
    settings
}

fn seed(path: &str, codes_path: &str, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let db: Db = open_database(&settings(path))?;
    let keys = Keys::from_secret(SECRET);
    let clock = &SystemClock;
    let codes = actix_web::rt::System::new().block_on(async move {
        let config = parse_config(&serde_json::json!({
            "name": "Bench",
            "destination_url": "https://bench.example/signup",
        }))
        .map_err(|e| anyhow::anyhow!("program configuration: {:?}", e.0))?;
        let slug = ProgramSlug::parse("bench").map_err(|e| anyhow::anyhow!("slug: {e:?}"))?;
        let (program, _) = programs::put(&db, "bench".into(), slug, config, clock.now_utc()).await?;
        let mut codes = Vec::with_capacity(n);
        let ids: Vec<usize> = (0..n).collect();
        for chunk in ids.chunks(CHUNK) {
            let enrolments = chunk.iter().map(|i| {
                let input = EnrolInput::parse(&format!("p{i}@bench.example"), Some(&format!("Person {i}")), None, None)
                    .map_err(|e| anyhow::anyhow!("participant {i}: {e:?}"));
                let (db, keys, program) = (&db, &keys, &program);
                async move {
                    Ok::<_, anyhow::Error>(
                        participants::enrol(db, keys, "bench".into(), program, input?, clock.now_utc()).await?,
                    )
                }
            });
            for enrolled in join_all(enrolments).await {
                let link = enrolled?.participant.link.context("an enrolled participant has a link")?;
                codes.push(link.code);
            }
        }
        Ok::<_, anyhow::Error>(codes)
    })?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(codes_path).with_context(|| format!("cannot write {codes_path}"))?,
    );
    for code in &codes {
        writeln!(out, "{code}")?;
    }
    out.flush()?;
    eprintln!("seeded program `bench` with {} participants in {:.1} s", codes.len(), started.elapsed().as_secs_f64());
    Ok(())
}

fn count(path: &str) -> anyhow::Result<()> {
    let db = open_database(&settings(path))?;
    let mut conn = db.get()?;
    println!("{}", storage::clicks::count_all(&mut conn)?);
    Ok(())
}
