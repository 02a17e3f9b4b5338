//! The one HTTP client of the forge: the API URL, the token, pagination, rate limits, timeouts,
//! and the one place where an HTTP failure becomes a refusal (one sentence naming the host and
//! what to set or do, exit 2).
//!
//! The token goes only into the `Authorization` header of requests to the API's own origin:
//! never into a URL, a message or a log line (every message text from a server is passed
//! through [`Client::redact`] before it is shown).

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use crate::error::Refusal;
use crate::ui::Ui;

/// How long one request may take (connect, send, answer) unless `HOTFIX_FORGE_TIMEOUT` says
/// otherwise (the tests' silent server uses a short one).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a rate limit is waited out; a later reset is refused with its time.
const MAX_RATE_WAIT: Duration = Duration::from_secs(60);
/// Rate-limited answers retried before giving up.
const RATE_RETRIES: u32 = 3;
/// Pages followed at most (100 items each): a list longer than that is not a hotfix's.
const MAX_PAGES: usize = 50;
/// The longest git's credential helper may take (or the request timeout, when shorter).
const CREDENTIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a page of 100 reviews is a few hundred KiB).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// An API base URL: https, or http on a loopback address only (a token must not travel in clear
/// text over a network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl {
    /// `https://host[:port]`, no path.
    pub origin: String,
    /// The host without the port, for messages and the credential helper.
    pub host: String,
    /// `host[:port]`.
    pub authority: String,
    pub https: bool,
    /// The base path without a trailing slash (`/api/v3`, or empty).
    pub path: String,
}

impl ApiUrl {
    pub fn parse(text: &str) -> Result<ApiUrl, String> {
        let text = text.trim();
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "`{text}` is not an API URL; write it like \"https://github.example.com/api/v3\""
            ));
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty()
            || authority.contains('@')
            || path.contains(['?', '#'])
            || authority.contains(|c: char| c.is_whitespace())
        {
            return Err(format!(
                "`{text}` is not an API URL (no user, query or fragment); write it like \"https://HOST/api/v4\""
            ));
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
            None => authority.split(':').next().unwrap_or_default().to_string(),
        }
        .to_ascii_lowercase();
        if !https && !is_loopback(&host) {
            return Err(format!(
                "`{text}` must be https: the token travels with every request (only a loopback address may use http)"
            ));
        }
        Ok(ApiUrl {
            origin: format!("{}://{authority}", if https { "https" } else { "http" }),
            host,
            authority: authority.to_ascii_lowercase(),
            https,
            path: path.trim_end_matches('/').to_string(),
        })
    }

    /// The URL of an API path (`/repos/o/n/pulls?x=1`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}{path}", self.origin, self.path)
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes one path segment or query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One answer: status, the headers pagination needs, the body.
pub struct Answer {
    pub status: u16,
    pub body: String,
    next: Option<String>,
}

impl Answer {
    pub fn json(&self, client: &Client, what: &str) -> Result<Value> {
        serde_json::from_str(&self.body).map_err(|_| {
            Refusal::usage(format!(
                "{} answered {what} with something that is not JSON; is forge.api_url ({}) the API's address?",
                client.api.host,
                client.api.join("")
            ))
            .hint("GitHub Enterprise: https://HOST/api/v3; self-managed GitLab: https://HOST/api/v4")
            .into()
        })
    }
}

/// What a forge error names: the forge, the repository, and the variables that hold its token.
pub struct Names {
    /// "GitHub", "GitLab".
    pub forge: &'static str,
    pub repository: String,
    /// "GH_TOKEN (or GITHUB_TOKEN)".
    pub token_vars: &'static str,
    /// The token scopes docs/forge.md asks for.
    pub scopes: &'static str,
}

pub struct Client<'a> {
    agent: ureq::Agent,
    pub api: ApiUrl,
    token: String,
    pub names: Names,
    ui: &'a Ui,
    extra_headers: Vec<(&'static str, &'static str)>,
    /// No request runs past this moment (`hotfix status`'s bound on the network, from
    /// [`crate::git::Repo::network_deadline`]).
    deadline: Option<Instant>,
}

/// The error of a forge request refused because `--offline` was given: a status report shows it
/// as a gate not judged, a command that needs the forge refuses with it.
#[derive(Debug, thiserror::Error)]
#[error("--offline was given, so hotfix did not contact {host}")]
pub struct Offline {
    pub host: String,
}

impl<'a> Client<'a> {
    pub fn new(
        ui: &'a Ui,
        api: ApiUrl,
        token: String,
        names: Names,
        extra_headers: Vec<(&'static str, &'static str)>,
        deadline: Option<Instant>,
    ) -> Client<'a> {
        let timeout = request_timeout();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(api.https)
            // GitHub redirects a renamed repository on its own host: the token goes along there,
            // and nowhere else
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .max_redirects(3)
            .timeout_global(Some(timeout))
            .user_agent(concat!("hotfix/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            api,
            token,
            names,
            ui,
            extra_headers,
            deadline,
        }
    }

    /// Hides the token in text a server sent back (an echo of the request, a proxy's page).
    fn redact(&self, text: &str) -> String {
        if self.token.len() >= 4 {
            text.replace(&self.token, "***")
        } else {
            text.to_string()
        }
    }

    pub fn get(&self, path: &str) -> Result<Answer> {
        self.send("GET", &self.api.join(path), None)
    }

    /// Every item of a paginated list: the answer's array, or its `field` (GitHub's check runs
    /// come as `{"total_count": n, "check_runs": [...]}`), over every page.
    pub fn get_all(&self, path: &str, field: Option<&str>) -> Result<Vec<Value>> {
        let mut url = self.api.join(path);
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self.send("GET", &url, None)?;
            let what = format!("GET {}", strip_query(&url));
            self.check(&answer, &what)?;
            let value = answer.json(self, &what)?;
            let list = match field {
                Some(f) => value.get(f).cloned().unwrap_or(Value::Null),
                None => value,
            };
            match list {
                Value::Array(a) => items.extend(a),
                _ => {
                    return Err(Refusal::usage(format!(
                        "{} answered {what} with no list; is forge.api_url the {} API?",
                        self.api.host, self.names.forge
                    ))
                    .into());
                }
            }
            match answer.next {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(Refusal::usage(format!(
            "{} kept sending more pages after {MAX_PAGES} of {}; stopped reading",
            self.api.host,
            strip_query(path)
        ))
        .into())
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Answer> {
        self.send("POST", &self.api.join(path), Some(body.to_string()))
    }

    /// Sends one request, waiting out a short rate limit; a long one, or any failure to get an
    /// answer, is a refusal.
    fn send(&self, method: &str, url: &str, body: Option<String>) -> Result<Answer> {
        let shown = strip_query(url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            // within the command's bound on the network, if it has one: what is left of it
            let timeout = match self.deadline {
                None => request_timeout(),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.out_of_time(method, shown));
                    }
                    left.min(request_timeout())
                }
            };
            self.ui.verbose(format!("{method} {url}"));
            let auth = format!("Bearer {}", self.token);
            let result = if method == "POST" {
                let mut req = self
                    .agent
                    .post(url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json");
                for (k, v) in &self.extra_headers {
                    req = req.header(*k, *v);
                }
                req.config()
                    .timeout_global(Some(timeout))
                    .build()
                    .send(body.clone().unwrap_or_default())
            } else {
                let mut req = self.agent.get(url).header("Authorization", &auth);
                for (k, v) in &self.extra_headers {
                    req = req.header(*k, *v);
                }
                req.config().timeout_global(Some(timeout)).build().call()
            };
            let mut resp = match result {
                Ok(r) => r,
                Err(e) => return Err(self.network_error(method, shown, &e)),
            };
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if let Some(wait) = rate_limited(status, &header) {
                let until = jiff::Timestamp::now()
                    .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                    .unwrap_or_else(|_| jiff::Timestamp::now());
                let past_deadline = self.deadline.is_some_and(|at| Instant::now() + wait > at);
                if wait > MAX_RATE_WAIT || attempt > RATE_RETRIES || past_deadline {
                    return Err(Refusal::usage(format!(
                        "the {} rate limit of {} is used up until {} UTC; nothing was changed",
                        self.names.forge,
                        self.api.host,
                        until.strftime("%H:%M:%S")
                    ))
                    .hint(
                        "run the command again after that time, or use a token with a higher limit",
                    )
                    .into());
                }
                self.ui.status(format!(
                    "{}'s rate limit at {} is used up; waiting {} for it to reset…",
                    self.names.forge,
                    self.api.host,
                    crate::process::human_duration(wait)
                ));
                std::thread::sleep(wait);
                continue;
            }
            let next = next_page(&header, url);
            if let Some(n) = &next
                && !n.starts_with(&format!("{}/", self.api.origin))
            {
                return Err(Refusal::usage(format!(
                    "{} sent the next page of {shown} on another host; not following it with the token",
                    self.api.host
                ))
                .into());
            }
            let mut text = String::new();
            let read = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .reader()
                .read_to_string(&mut text);
            if let Err(e) = read {
                return Err(Refusal::usage(format!(
                    "{} did not finish its answer to {method} {shown} ({}); try again",
                    self.api.host,
                    self.redact(&e.to_string())
                ))
                .hint("check the network, or forge.api_url in hotfix.toml; nothing was changed")
                .into());
            }
            return Ok(Answer {
                status,
                body: text,
                next,
            });
        }
    }

    /// A request not even sent: the command's time for the network (status's bound) is spent.
    fn out_of_time(&self, method: &str, shown: &str) -> anyhow::Error {
        Refusal::usage(format!(
            "{} was not asked {method} {shown}: this command's time for the network is spent",
            self.api.host
        ))
        .hint("`hotfix status` shows it on a later run; commands that decide (deploy, finish) wait for the forge")
        .into()
    }

    fn network_error(&self, method: &str, shown: &str, e: &ureq::Error) -> anyhow::Error {
        let host = &self.api.host;
        let message = match e {
            ureq::Error::Timeout(_) => {
                format!("{host} did not answer {method} {shown} in time; nothing was changed")
            }
            ureq::Error::HostNotFound => {
                format!("cannot find the host {host} (forge.api_url); nothing was changed")
            }
            other => format!(
                "could not reach {host} ({}); nothing was changed",
                self.redact(&other.to_string())
            ),
        };
        Refusal::usage(message)
            .hint("check the network and forge.api_url in hotfix.toml, and try again (HOTFIX_FORGE_TIMEOUT sets how long to wait)")
            .into()
    }

    /// A non-success answer as the one sentence the user acts on.
    pub fn check(&self, answer: &Answer, what: &str) -> Result<()> {
        if (200..300).contains(&answer.status) {
            return Ok(());
        }
        Err(self.refusal(answer, what))
    }

    pub fn refusal(&self, answer: &Answer, what: &str) -> anyhow::Error {
        let host = &self.api.host;
        let n = &self.names;
        let said = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("error"))
                    .map(|m| match m {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
            })
            .map(|m| {
                let one: String = m.split_whitespace().collect::<Vec<_>>().join(" ");
                let one: String = one.chars().take(160).collect();
                format!(": \"{}\"", self.redact(&one))
            })
            .unwrap_or_default();
        let refusal = match answer.status {
            401 => Refusal::usage(format!(
                "{host} refused the token (401 Unauthorized{said}); nothing was changed"
            ))
            .hint(format!(
                "set {} to a valid token ({}), or update the one git's credential helper has for {host}",
                n.token_vars, n.scopes
            )),
            403 => Refusal::usage(format!(
                "{host} refused access to {} (403 Forbidden{said}); nothing was changed",
                n.repository
            ))
            .hint(format!(
                "the token needs {} for {}; see docs/forge.md",
                n.scopes, n.repository
            )),
            404 => Refusal::usage(format!(
                "{host} has no repository {}, or the token cannot see it (404 Not Found for {what}); nothing was changed",
                n.repository
            ))
            .hint("check forge.repository in hotfix.toml (or the remote's URL) and that the token can read the repository"),
            s => Refusal::usage(format!(
                "{host} answered {s} to {what}{said}; nothing was changed"
            ))
            .hint("try again later; if it persists, check forge.api_url in hotfix.toml"),
        };
        refusal.into()
    }
}

/// How long one request may take: `HOTFIX_FORGE_TIMEOUT`, else 30 s.
fn request_timeout() -> Duration {
    std::env::var("HOTFIX_FORGE_TIMEOUT")
        .ok()
        .and_then(|t| crate::config::parse_duration(&t))
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// How long to wait when the answer is a rate limit: 429, or 403 with no requests left
/// (GitHub's primary limit). `retry-after` (seconds) first, then the reset time.
fn rate_limited(status: u16, header: &dyn Fn(&str) -> Option<String>) -> Option<Duration> {
    let remaining = header("x-ratelimit-remaining").or_else(|| header("ratelimit-remaining"));
    let limited = status == 429
        || (status == 403
            && (remaining.as_deref() == Some("0") || header("retry-after").is_some()));
    if !limited {
        return None;
    }
    if let Some(secs) = header("retry-after").and_then(|s| s.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs.max(1)));
    }
    let reset = header("x-ratelimit-reset").or_else(|| header("ratelimit-reset"));
    if let Some(at) = reset.and_then(|s| s.trim().parse::<i64>().ok()) {
        let now = jiff::Timestamp::now().as_second();
        return Some(Duration::from_secs((at - now).max(1) as u64));
    }
    // limited, with no word of when: a minute is GitHub's advice for secondary limits
    Some(MAX_RATE_WAIT)
}

/// The next page: GitHub's and GitLab's `Link: <…>; rel="next"`, else GitLab's `x-next-page`.
fn next_page(header: &dyn Fn(&str) -> Option<String>, url: &str) -> Option<String> {
    if let Some(link) = header("link") {
        for part in link.split(',') {
            let mut bits = part.split(';');
            let target = bits.next()?.trim();
            if bits.any(|b| {
                let b = b.trim().replace(' ', "");
                b == "rel=\"next\"" || b == "rel=next"
            }) {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
        return None;
    }
    let page = header("x-next-page")?;
    let page = page.trim();
    if page.is_empty() || !page.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_string)
        .collect();
    params.push(format!("page={page}"));
    Some(format!("{base}?{}", params.join("&")))
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The token for the forge at `api`: the environment first, then git's credential helper for
/// the forge's host (never prompting). `None` when there is none.
pub fn find_token(
    repo: &crate::git::Repo,
    api: &ApiUrl,
    vars: &[&str],
    ui: &Ui,
) -> Result<Option<String>> {
    for var in vars {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            ui.verbose(format!("using the token in {var}"));
            return Ok(Some(v.trim().to_string()));
        }
    }
    // github.com's credentials are stored for github.com, not api.github.com
    let host = if api.authority == "api.github.com" {
        "github.com".to_string()
    } else {
        api.authority.clone()
    };
    let protocol = if api.https { "https" } else { "http" };
    let found = credential_fill(repo, protocol, &host)?;
    if found.is_some() {
        ui.verbose(format!(
            "using the token git's credential helper has for {host}"
        ));
    }
    Ok(found)
}

/// `git credential fill` for one host, with every way of asking a person turned off: no
/// terminal prompt, no askpass program, stdin closed after the request, and a time limit.
fn credential_fill(repo: &crate::git::Repo, protocol: &str, host: &str) -> Result<Option<String>> {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = repo.git_command()?;
    cmd.args(["-c", "credential.interactive=false", "credential", "fill"])
        .env("GIT_TERMINAL_PROMPT", "0")
        // an empty GIT_ASKPASS also keeps git from trying core.askPass and SSH_ASKPASS
        .env("GIT_ASKPASS", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // its own process group: a helper that hangs is killed with git, not left behind
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let Ok(mut child) = cmd.spawn() else {
        return Ok(None);
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = write!(stdin, "protocol={protocol}\nhost={host}\n\n");
        // dropped here: git sees the end of its input
    }
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        out
    });
    let started = Instant::now();
    let mut limit = CREDENTIAL_TIMEOUT.min(request_timeout());
    if let Some(at) = repo.network_deadline() {
        limit = limit.min(at.saturating_duration_since(started));
    }
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                // SAFETY: kill(2) of the process group of our own child, not reaped yet
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                return Ok(None);
            }
        }
    }
    let status = child.wait()?;
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Ok(None);
    }
    Ok(out
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_must_be_https_except_loopback() {
        assert!(ApiUrl::parse("https://api.github.com").is_ok());
        let ghe = ApiUrl::parse("https://git.example.com/api/v3/").unwrap();
        assert_eq!(ghe.join("/repos"), "https://git.example.com/api/v3/repos");
        assert_eq!(ghe.host, "git.example.com");
        assert!(ApiUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ApiUrl::parse("http://localhost:1/api").is_ok());
        assert!(ApiUrl::parse("http://[::1]:9/").is_ok());
        assert!(ApiUrl::parse("http://git.example.com").is_err());
        assert!(ApiUrl::parse("http://127.0.0.1.example.com").is_err());
        assert!(ApiUrl::parse("https://user:pw@host").is_err());
        assert!(ApiUrl::parse("ftp://host").is_err());
    }

    #[test]
    fn next_pages() {
        let link = |v: &'static str| move |n: &str| (n == "link").then(|| v.to_string());
        assert_eq!(
            next_page(
                &link(r#"<https://h/x?page=2>; rel="next", <https://h/x?page=5>; rel="last""#),
                "https://h/x"
            )
            .as_deref(),
            Some("https://h/x?page=2")
        );
        assert_eq!(
            next_page(&link(r#"<https://h/x?page=1>; rel="prev""#), "u"),
            None
        );
        let gl = |n: &str| (n == "x-next-page").then(|| "3".to_string());
        assert_eq!(
            next_page(&gl, "https://h/p?per_page=100&page=2").as_deref(),
            Some("https://h/p?per_page=100&page=3")
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("group/sub/project"), "group%2Fsub%2Fproject");
        assert_eq!(encode("hotfix/login-500"), "hotfix%2Flogin-500");
    }
}
