//! A real HTTP server that receives webhooks in tests: it answers each
//! request with the next status of its script (the last one repeats) and
//! keeps what it received; tests wait on the count of arrivals.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

struct Shared {
    script: Vec<u16>,
    received: Mutex<Vec<Received>>,
    count: tokio::sync::watch::Sender<usize>,
}

pub struct Receiver {
    /// Where to point an endpoint: `http://127.0.0.1:{port}/hooks`.
    pub url: String,
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Answers with `script`'s statuses in turn (200 when empty); a 3xx
    /// carries `Location: /elsewhere`.
    pub async fn start(script: &[u16]) -> Self {
        let shared = Arc::new(Shared {
            script: script.to_vec(),
            received: Mutex::new(Vec::new()),
            count: tokio::sync::watch::Sender::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .listen(listener)
            .expect("listens")
            .run();
        // It stops with the test's runtime.
        actix_web::rt::spawn(server);
        Self { url: format!("http://127.0.0.1:{port}/hooks"), port, shared }
    }

    /// Waits until `n` requests have arrived (at most 20 s) and returns all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut count = self.shared.count.subscribe();
        tokio::time::timeout(Duration::from_secs(20), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} webhooks should arrive; {} did", self.received().len()))
            .expect("receiver alive");
        self.received()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let headers =
        req.headers().iter().map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let received = Received { path: req.path().to_string(), headers, body: String::from_utf8_lossy(&body).into() };
    let index = {
        let mut all = shared.received.lock().unwrap();
        all.push(received);
        all.len() - 1
    };
    shared.count.send_modify(|c| *c += 1);
    let status = shared.script.get(index).or(shared.script.last()).copied().unwrap_or(200);
    let mut answer = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if (300..400).contains(&status) {
        answer.insert_header(("Location", "/elsewhere"));
    }
    answer.body(format!("answer {}", index + 1))
}
