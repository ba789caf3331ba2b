//! The baseline for `bench/redirect.sh`: a bare actix-web server that
//! answers every `GET /r/{code}` with a fixed 302 to `/join/x`, with the
//! same actix-web version and worker count as goodword (one per core).
//!
//! Usage: `cargo run --release --example bare_redirect -- 127.0.0.1:8090`

use actix_web::{App, HttpResponse, HttpServer, get, http::header, web};

#[get("/r/{code}")]
async fn follow(_code: web::Path<String>) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, "/join/x")).finish()
}

fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 16);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().service(follow)).workers(workers).bind(&bind)?.run().await
    })
}
