//! The baseline for `bench/redirect.sh`: a bare actix-web server that
//! answers every `GET /r/{code}` with a fixed 302 to `/join/x`, with the
//! same actix-web version and worker count as goodword (one per core).
//!
//! With `--goodword-headers` it sends the headers goodword's redirect
//! sends (security headers, attribution cookie, `Cache-Control`) and
//! nothing else: what those headers cost, with none of goodword's work.
//!
//! Usage: `cargo run --release --example bare_redirect -- 127.0.0.1:8090 [--goodword-headers]`

use actix_web::{App, HttpResponse, HttpServer, get, http::header, web};
use goodword::web::middleware::SECURITY_HEADERS;

#[get("/r/{code}")]
async fn follow(_code: web::Path<String>) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, "/join/x")).finish()
}

#[get("/r/{code}")]
async fn follow_with_headers(_code: web::Path<String>) -> HttpResponse {
    let mut resp = HttpResponse::Found();
    resp.insert_header((header::LOCATION, "/join/x")).insert_header((header::CACHE_CONTROL, "no-store")).insert_header(
        (header::SET_COOKIE, "gw_ref=eFRY9qcK.0Nl3xQpR7vW2abCd; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000"),
    );
    for header in SECURITY_HEADERS {
        resp.insert_header(header);
    }
    resp.finish()
}

fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let with_headers = std::env::args().any(|a| a == "--goodword-headers");
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 16);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(
            move || {
                if with_headers { App::new().service(follow_with_headers) } else { App::new().service(follow) }
            },
        )
        .workers(workers)
        .bind(&bind)?
        .run()
        .await
    })
}
