//! A local stand-in for GitHub's or GitLab's REST API: an HTTP/1.1 server on 127.0.0.1 in a
//! thread of the test, answering the routes a test sets up with the JSON shapes of the public
//! API documentation. When it is dropped it fails the test if a route the test set up was never
//! asked for, or if a request came that no route answers.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Route {
    method: String,
    target: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Answers this many times, then the next route for the same target answers; None: always.
    times: Option<usize>,
    hits: usize,
    /// Accept and never answer.
    silent: bool,
}

#[derive(Default)]
struct Shared {
    routes: Vec<Route>,
    received: Vec<Received>,
    unexpected: Vec<String>,
}

pub struct StandIn {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    pub fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, st) = (s.clone(), st.clone());
                        std::thread::spawn(move || serve(conn, &s, &st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        StandIn {
            port,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers `method target` with `status` and `body` (`{base}` in it becomes [`url`]),
    /// every time; the test fails if it is never asked.
    pub fn on(&self, method: &str, target: &str, status: u16, body: &str) -> &StandIn {
        self.route(method, target, status, &[], body, None, false)
    }

    /// As [`on`], with headers (`{base}` in a value becomes [`url`]), answered `times` times
    /// (None: always) before the next route of the same target takes over.
    pub fn on_with(
        &self,
        method: &str,
        target: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        times: Option<usize>,
    ) -> &StandIn {
        self.route(method, target, status, headers, body, times, false)
    }

    /// Accepts `method target` and never answers.
    pub fn silent(&self, method: &str, target: &str) -> &StandIn {
        self.route(method, target, 200, &[], "", None, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        method: &str,
        target: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        times: Option<usize>,
        silent: bool,
    ) -> &StandIn {
        let base = self.url();
        self.shared.lock().unwrap().routes.push(Route {
            method: method.into(),
            target: target.into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.replace("{base}", &base)))
                .collect(),
            body: body.replace("{base}", &base),
            times,
            hits: 0,
            silent,
        });
        self
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// How many times `target` was asked for.
    pub fn hits(&self, target: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.target == target)
            .count()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if std::thread::panicking() {
            return;
        }
        let shared = self.shared.lock().unwrap();
        let never: Vec<String> = shared
            .routes
            .iter()
            .filter(|r| r.hits == 0)
            .map(|r| format!("{} {}", r.method, r.target))
            .collect();
        assert!(
            never.is_empty(),
            "the stand-in was never asked for: {never:?}\nit received: {:#?}",
            shared
                .received
                .iter()
                .map(|r| format!("{} {}", r.method, r.target))
                .collect::<Vec<_>>()
        );
        assert!(
            shared.unexpected.is_empty(),
            "the stand-in got requests no route answers: {:?}",
            shared.unexpected
        );
    }
}

fn serve(conn: TcpStream, shared: &Mutex<Shared>, stop: &AtomicBool) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let received = Received {
        method: method.clone(),
        target: target.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let answer = {
        let mut s = shared.lock().unwrap();
        s.received.push(received);
        let route = s.routes.iter_mut().find(|r| {
            r.method == method && r.target == target && r.times.is_none_or(|t| r.hits < t)
        });
        match route {
            Some(r) => {
                r.hits += 1;
                Some((r.status, r.headers.clone(), r.body.clone(), r.silent))
            }
            None => {
                s.unexpected.push(format!("{method} {target}"));
                None
            }
        }
    };
    let mut conn = conn;
    let (status, headers, body) = match answer {
        Some((_, _, _, true)) => {
            // a server that accepted and never answers: hold the connection until the end
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        Some((status, headers, body, false)) => (status, headers, body),
        None => (404, Vec::new(), r#"{"message":"Not Found"}"#.to_string()),
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
    let _ = conn.flush();
}
