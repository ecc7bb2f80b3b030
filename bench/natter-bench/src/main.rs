//! natter-bench: a load generator for natter and for the Node reference implementation of
//! the same API (bench/reference). It talks to a server by base URL over real HTTP and
//! Socket.IO (websocket transport), runs one bounded scenario per invocation and prints one
//! JSON line of results; `report` turns collected lines into a table and a chart.
//!
//! Users come from a tokens file (`natter seed --tokens-out`, or the reference's seed.js):
//! one `{"id","email","token"}` line per user, user 0 and user 1 sharing the long
//! conversation, user 0 in many rooms.

mod floor;
mod report;
mod sio;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::{Value, json};

use stats::{CpuMeter, Recorder};

#[derive(Parser)]
#[command(name = "natter-bench", about = "Load generator for natter and its Node reference")]
struct Cli {
    /// Base URL of the server under test; several, comma-separated, for a cluster: HTTP
    /// requests take them in turn and sockets are spread over them.
    #[arg(long, default_value = "http://127.0.0.1:3000", global = true)]
    base_url: String,
    /// JSON lines `{"id","email","token"}`, one per seeded user.
    #[arg(long, global = true)]
    tokens: Option<PathBuf>,
    /// Password of the seeded users (for the login scenarios).
    #[arg(long, default_value = "bench-password-1", global = true)]
    password: String,
    /// PID of the server, to report its CPU and memory.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Label of the target in the results (e.g. natter-sqlite, reference-pg).
    #[arg(long, default_value = "target", global = true)]
    label: String,
    /// How long a throughput scenario runs, in seconds.
    #[arg(long, default_value_t = 10, global = true)]
    duration: u64,
    /// Exit with an error when the scenario saw a failed request, a lost delivery or no
    /// completed request at all (the smoke run in CI); the result line is printed first.
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// The in-process floor on SQLite: the store's statements alone, through natter's store
    /// and bare in the calling thread (rusqlite), plus JSON serialisation of the pages.
    Floor {
        /// Messages in the conversation the pages are read from.
        #[arg(long, default_value_t = 1000)]
        messages: u32,
        /// Operations per figure (pages: scaled to 50 rows each).
        #[arg(long, default_value_t = 5000)]
        iterations: u32,
    },
    /// Signups and logins of new accounts.
    Auth {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Direct-message sends, each worker its own sender and receiver.
    Send {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Reads of the newest page of `limit` messages of user 0's long conversation with user 1.
    Read {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Messages per page (50, 200 or 1000 in the benchmark).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Room posts: worker w posts as user 0 into the w-th of user 0's group rooms (natter
    /// only: the tutorial stack has no group rooms; its write is the DM send).
    Post {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// User 0's room list (a page of 50 of their rooms).
    Rooms {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Send → `newMessage` latency with many connected receivers.
    Delivery {
        #[arg(long, default_value_t = 100)]
        receivers: usize,
        #[arg(long, value_enum, default_value = "dm")]
        mode: DeliveryMode,
        /// Messages to send.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        /// Messages per second.
        #[arg(long, default_value_t = 100)]
        rate: u64,
    },
    /// Server RSS with many idle Socket.IO connections.
    Memory {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// How many distinct users hold them (round robin, like tabs); default: one each.
        /// Fewer users keep `getOnlineUsers`, which lists every online user, small.
        #[arg(long)]
        users: Option<usize>,
    },
    /// p99 of conversation reads alone, then while clients log in continuously.
    Isolation {
        #[arg(long, default_value_t = 16)]
        readers: usize,
        #[arg(long, default_value_t = 50)]
        logins: usize,
    },
    /// Builds the Markdown table and the SVG chart from collected result lines.
    Report {
        /// Result files (JSON lines).
        inputs: Vec<PathBuf>,
        #[arg(long)]
        markdown: PathBuf,
        #[arg(long)]
        chart: PathBuf,
        /// A line describing the machine, printed above the table.
        #[arg(long, default_value = "")]
        machine: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum DeliveryMode {
    /// Each message is a DM to one receiver (round robin).
    Dm,
    /// Every message goes to one room that holds all receivers (fan-out).
    Group,
}

#[derive(Debug, Clone, Deserialize)]
struct SeededUser {
    id: String,
    email: String,
    token: String,
}

struct Ctx {
    bases: Vec<String>,
    next_base: AtomicU64,
    http: reqwest::Client,
    users: Vec<SeededUser>,
    password: String,
    duration: Duration,
    server_pid: Option<u32>,
}

impl Ctx {
    fn url(&self, path: &str) -> String {
        let i = self.next_base.fetch_add(1, Ordering::Relaxed) as usize % self.bases.len();
        format!("{}{}", self.bases[i], path)
    }

    fn user(&self, i: usize) -> anyhow::Result<&SeededUser> {
        self.users.get(i).with_context(|| format!("the tokens file has no user {i}: seed more users"))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::Report { inputs, markdown, chart, machine } = &cli.scenario {
        return report::write(inputs, markdown, chart, machine);
    }
    if let Scenario::Floor { messages, iterations } = cli.scenario {
        return floor::run(messages, iterations).await;
    }
    let users = match &cli.tokens {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<SeededUser>, _>>()?,
        None => Vec::new(),
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).timeout(Duration::from_secs(60)).build()?;
    let ctx = Arc::new(Ctx {
        bases: cli.base_url.split(',').map(|b| b.trim().trim_end_matches('/').to_string()).collect(),
        next_base: AtomicU64::new(0),
        http,
        users,
        password: cli.password.clone(),
        duration: Duration::from_secs(cli.duration),
        server_pid: cli.server_pid,
    });
    let cpu = CpuMeter::start(cli.server_pid);
    let (scenario, params, mut metrics) = match cli.scenario {
        Scenario::Auth { concurrency } => ("auth", json!({"concurrency": concurrency}), auth(&ctx, concurrency).await?),
        Scenario::Send { concurrency } => ("send", json!({"concurrency": concurrency}), send(&ctx, concurrency).await?),
        Scenario::Read { concurrency, limit } => {
            ("read", json!({"concurrency": concurrency, "limit": limit}), read(&ctx, concurrency, limit).await?)
        }
        Scenario::Post { concurrency } => ("post", json!({"concurrency": concurrency}), post(&ctx, concurrency).await?),
        Scenario::Rooms { concurrency } => {
            ("rooms", json!({"concurrency": concurrency}), rooms(&ctx, concurrency).await?)
        }
        Scenario::Delivery { receivers, mode, messages, rate } => (
            "delivery",
            json!({"receivers": receivers, "mode": format!("{mode:?}").to_lowercase(), "messages": messages, "rate": rate}),
            delivery(&ctx, receivers, mode, messages, rate).await?,
        ),
        Scenario::Memory { connections, users } => {
            let users = users.unwrap_or(connections).min(connections).min(ctx.users.len()).max(1);
            ("memory", json!({"connections": connections, "users": users}), memory(&ctx, connections, users).await?)
        }
        Scenario::Isolation { readers, logins } => {
            ("isolation", json!({"readers": readers, "logins": logins}), isolation(&ctx, readers, logins).await?)
        }
        Scenario::Report { .. } | Scenario::Floor { .. } => unreachable!("handled above"),
    };
    if let Value::Object(map) = &mut metrics {
        let (server_cpu, bench_cpu) = cpu.percent();
        map.insert("server_cpu_pct".into(), json!(server_cpu));
        map.insert("bench_cpu_pct".into(), json!(bench_cpu));
        // How close to the limit: the server's CPU time per completed request.
        if let (Some(cpu), Some(rate)) = (server_cpu, map.get("per_s").and_then(Value::as_f64))
            && rate > 0.0
        {
            map.insert("server_us_per_request".into(), json!(cpu / 100.0 * 1e6 / rate));
        }
    }
    let problems = problems(&metrics);
    let line = json!({"target": cli.label, "scenario": scenario, "params": params, "metrics": metrics});
    println!("{line}");
    if cli.strict && !problems.is_empty() {
        bail!("{scenario}: {}", problems.join("; "));
    }
    Ok(())
}

/// What went wrong in a scenario's metrics, looked for at every depth (the isolation
/// scenario nests its phases): failed requests, deliveries that never arrived, a phase in
/// which no request completed.
fn problems(metrics: &Value) -> Vec<String> {
    fn walk(path: &str, value: &Value, out: &mut Vec<String>) {
        let Value::Object(map) = value else { return };
        let number = |key: &str| map.get(key).and_then(Value::as_f64);
        for key in ["errors", "send_errors"] {
            if let Some(n) = number(key).filter(|n| *n > 0.0) {
                let first = map.get("first_error").and_then(Value::as_str).unwrap_or("");
                out.push(format!("{path}{key}={n} {first}").trim_end().to_string());
            }
        }
        if let (Some(expected), Some(delivered)) = (number("expected"), number("delivered"))
            && delivered < expected
        {
            out.push(format!("{path}delivered {delivered} of {expected}"));
        }
        if map.contains_key("per_s") && number("count") == Some(0.0) {
            out.push(format!("{path}no request completed"));
        }
        for (key, child) in map {
            walk(&format!("{path}{key}."), child, out);
        }
    }
    let mut out = Vec::new();
    walk("", metrics, &mut out);
    out
}

/// Runs `concurrency` workers calling `op(worker)` until the duration is over; returns the
/// latency recorder (errors counted apart) and the elapsed time.
async fn closed_loop<F, Fut>(ctx: &Ctx, concurrency: usize, op: F) -> (Recorder, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let end = Instant::now() + ctx.duration;
    let started = Instant::now();
    let workers = (0..concurrency).map(|w| {
        let op = op.clone();
        tokio::spawn(async move {
            let mut rec = Recorder::new();
            while Instant::now() < end {
                let t = Instant::now();
                match op(w).await {
                    Ok(()) => rec.record(t.elapsed()),
                    Err(e) => rec.error(&e),
                }
            }
            rec
        })
    });
    let mut total = Recorder::new();
    for worker in futures::future::join_all(workers).await {
        total.merge(worker.expect("worker panicked"));
    }
    (total, started.elapsed())
}

async fn expect_ok(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else {
        let body = response.text().await.unwrap_or_default();
        bail!("HTTP {status}: {}", body.chars().take(200).collect::<String>())
    }
}

async fn auth(ctx: &Arc<Ctx>, concurrency: usize) -> anyhow::Result<Value> {
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros());
    let counter = Arc::new(AtomicU64::new(0));
    let logins = Arc::new(std::sync::Mutex::new(Recorder::new()));
    let (ctx2, logins2) = (ctx.clone(), logins.clone());
    let (signups, elapsed) = closed_loop(ctx, concurrency, move |_| {
        let (ctx, counter, run, logins) = (ctx2.clone(), counter.clone(), run.clone(), logins2.clone());
        async move {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let email = format!("bench-{run}-{n}@example.com");
            let password = "Bench-pass-4242";
            let body = json!({"fullName": format!("Bench {n}"), "email": email, "password": password});
            expect_ok(ctx.http.post(ctx.url("/api/auth/signup")).json(&body).send().await?).await?;
            let t = Instant::now();
            let login = json!({"email": email, "password": password});
            let result =
                async { expect_ok(ctx.http.post(ctx.url("/api/auth/login")).json(&login).send().await?).await };
            match result.await {
                Ok(_) => logins.lock().expect("lock").record(t.elapsed()),
                Err(e) => logins.lock().expect("lock").error(&e),
            }
            Ok(())
        }
    })
    .await;
    let logins = logins.lock().expect("lock").clone();
    Ok(json!({
        "signup": signups.summary(elapsed),
        "login": logins.summary(elapsed),
    }))
}

async fn send(ctx: &Arc<Ctx>, concurrency: usize) -> anyhow::Result<Value> {
    // Worker w sends as user 2+2w to user 3+2w: independent pairs, like real traffic.
    for w in 0..concurrency {
        ctx.user(3 + 2 * w)?;
    }
    let ctx2 = ctx.clone();
    let (rec, elapsed) = closed_loop(ctx, concurrency, move |w| {
        let ctx = ctx2.clone();
        async move {
            let (from, to) = (&ctx.users[2 + 2 * w], &ctx.users[3 + 2 * w]);
            post_text(&ctx, &format!("/api/messages/send/{}", to.id), &from.token).await
        }
    })
    .await;
    Ok(rec.summary(elapsed))
}

/// One message write: `POST path {"text"}` as the holder of `token`; fails unless 2xx.
async fn post_text(ctx: &Ctx, path: &str, token: &str) -> anyhow::Result<()> {
    let body = json!({"text": "benchmark message"});
    let response = ctx.http.post(ctx.url(path)).bearer_auth(token).json(&body).send().await?;
    expect_ok(response).await?;
    Ok(())
}

async fn post(ctx: &Arc<Ctx>, concurrency: usize) -> anyhow::Result<Value> {
    let me = ctx.user(0)?;
    let response = ctx
        .http
        .get(ctx.url(&format!("/api/rooms?limit={}", (concurrency * 2).min(1000))))
        .bearer_auth(&me.token)
        .send()
        .await?;
    let rooms: Vec<Value> = expect_ok(response).await?.json().await?;
    let groups: Arc<Vec<String>> = Arc::new(
        rooms.iter().filter(|r| r["kind"] == "group").filter_map(|r| r["_id"].as_str().map(str::to_string)).collect(),
    );
    if groups.len() < concurrency {
        bail!("user 0 is in {} group rooms; {concurrency} are needed: seed more rooms", groups.len());
    }
    let ctx2 = ctx.clone();
    let (rec, elapsed) = closed_loop(ctx, concurrency, move |w| {
        let (ctx, groups) = (ctx2.clone(), groups.clone());
        async move { post_text(&ctx, &format!("/api/rooms/{}/messages", groups[w]), &ctx.users[0].token).await }
    })
    .await;
    Ok(rec.summary(elapsed))
}

async fn read_page(ctx: &Ctx, limit: usize) -> anyhow::Result<()> {
    let (me, peer) = (&ctx.users[0], &ctx.users[1]);
    let url = ctx.url(&format!("/api/messages/{}?limit={limit}", peer.id));
    let response = ctx.http.get(url).bearer_auth(&me.token).send().await?;
    let body = expect_ok(response).await?.bytes().await?;
    // A full parse, without building a tree of values: the generator must stay cheaper
    // than the server it measures (with a `Value` per message it was not, at 9k pages/s).
    let page: Vec<serde::de::IgnoredAny> = serde_json::from_slice(&body)?;
    if page.len() == limit { Ok(()) } else { bail!("expected a page of {limit} messages, got {}", page.len()) }
}

async fn read(ctx: &Arc<Ctx>, concurrency: usize, limit: usize) -> anyhow::Result<Value> {
    ctx.user(1)?;
    let ctx2 = ctx.clone();
    let (rec, elapsed) = closed_loop(ctx, concurrency, move |_| {
        let ctx = ctx2.clone();
        async move { read_page(&ctx, limit).await }
    })
    .await;
    Ok(rec.summary(elapsed))
}

async fn rooms(ctx: &Arc<Ctx>, concurrency: usize) -> anyhow::Result<Value> {
    ctx.user(0)?;
    let ctx2 = ctx.clone();
    let (rec, elapsed) = closed_loop(ctx, concurrency, move |_| {
        let ctx = ctx2.clone();
        async move {
            let response = ctx.http.get(ctx.url("/api/rooms?limit=50")).bearer_auth(&ctx.users[0].token).send().await?;
            let body: Value = expect_ok(response).await?.json().await?;
            match body.as_array().map(Vec::len) {
                Some(n) if n > 0 => Ok(()),
                other => bail!("expected a page of rooms, got {other:?}"),
            }
        }
    })
    .await;
    Ok(rec.summary(elapsed))
}

async fn isolation(ctx: &Arc<Ctx>, readers: usize, logins: usize) -> anyhow::Result<Value> {
    ctx.user(logins + 2)?;
    let ctx2 = ctx.clone();
    let reads = move |_| {
        let ctx = ctx2.clone();
        async move { read_page(&ctx, 50).await }
    };
    let (quiet, quiet_elapsed) = closed_loop(ctx, readers, reads.clone()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let login_count = Arc::new(AtomicU64::new(0));
    let storm: Vec<_> = (0..logins)
        .map(|i| {
            let (ctx, stop, count) = (ctx.clone(), stop.clone(), login_count.clone());
            tokio::spawn(async move {
                let body = json!({"email": ctx.users[2 + i].email, "password": ctx.password});
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(r) = ctx.http.post(ctx.url("/api/auth/login")).json(&body).send().await
                        && r.status().is_success()
                    {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let (stormy, stormy_elapsed) = closed_loop(ctx, readers, reads).await;
    stop.store(true, Ordering::Relaxed);
    for task in storm {
        let _ = task.await;
    }
    let quiet_p99 = quiet.percentile_ms(99.0);
    let stormy_p99 = stormy.percentile_ms(99.0);
    Ok(json!({
        "quiet": quiet.summary(quiet_elapsed),
        "storm": stormy.summary(stormy_elapsed),
        "logins_per_s": login_count.load(Ordering::Relaxed) as f64 / stormy_elapsed.as_secs_f64(),
        "p99_ratio": if quiet_p99 > 0.0 { stormy_p99 / quiet_p99 } else { 0.0 },
    }))
}

async fn delivery(
    ctx: &Arc<Ctx>,
    receivers: usize,
    mode: DeliveryMode,
    messages: usize,
    rate: u64,
) -> anyhow::Result<Value> {
    ctx.user(1 + receivers)?;
    let sender = ctx.users[0].clone();
    let targets: Vec<SeededUser> = ctx.users[2..2 + receivers].to_vec();
    let tracker = Arc::new(sio::DeliveryTracker::new(messages));
    let sockets = sio::connect_many(&ctx.bases, &targets, Some(tracker.clone())).await?;
    let room = match mode {
        DeliveryMode::Dm => None,
        DeliveryMode::Group => Some(create_fanout_room(ctx, &sender, &targets).await?),
    };
    let expected_per_message = match mode {
        DeliveryMode::Dm => 1,
        DeliveryMode::Group => receivers,
    };
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let started = Instant::now();
    let mut sends = Vec::with_capacity(messages);
    let mut send_errors = 0usize;
    for seq in 0..messages {
        let due = started + interval * seq as u32;
        tokio::time::sleep_until(due.into()).await;
        let (ctx, sender, tracker) = (ctx.clone(), sender.clone(), tracker.clone());
        let path = match &room {
            Some(room) => format!("/api/rooms/{room}/messages"),
            None => format!("/api/messages/send/{}", targets[seq % receivers].id),
        };
        sends.push(tokio::spawn(async move {
            tracker.mark_sent(seq);
            let body = json!({"text": format!("bench:{seq}")});
            let response = ctx.http.post(ctx.url(&path)).bearer_auth(&sender.token).json(&body).send().await?;
            expect_ok(response).await.map(|_| ())
        }));
    }
    for send in sends {
        if !matches!(send.await, Ok(Ok(()))) {
            send_errors += 1;
        }
    }
    let expected = (messages - send_errors) * expected_per_message;
    let deadline = Instant::now() + Duration::from_secs(30);
    while tracker.delivered() < expected as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = tracker.last_delivery().unwrap_or_else(Instant::now).duration_since(started);
    let delivered = tracker.delivered();
    let latency = tracker.latencies();
    drop(sockets);
    Ok(json!({
        "connected": receivers,
        "sent": messages - send_errors,
        "send_errors": send_errors,
        "expected": expected,
        "delivered": delivered,
        "delivered_per_s": delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        "p50_ms": latency.percentile_ms(50.0),
        "p99_ms": latency.percentile_ms(99.0),
        "max_ms": latency.max_ms(),
    }))
}

/// A room holding the sender and every receiver (natter's rooms API; the reference has none).
async fn create_fanout_room(ctx: &Ctx, sender: &SeededUser, targets: &[SeededUser]) -> anyhow::Result<String> {
    let ids: Vec<&str> = targets.iter().map(|u| u.id.as_str()).collect();
    let mut chunks = ids.chunks(1000);
    let first = chunks.next().context("no receivers")?;
    let body = json!({"userIds": first, "name": format!("fanout {}", targets.len())});
    let response = ctx.http.post(ctx.url("/api/rooms")).bearer_auth(&sender.token).json(&body).send().await?;
    let room: Value = expect_ok(response).await.context("creating the fan-out room (natter only)")?.json().await?;
    let room_id = room["_id"].as_str().context("room without _id")?.to_string();
    for chunk in chunks {
        let response = ctx
            .http
            .post(ctx.url(&format!("/api/rooms/{room_id}/members")))
            .bearer_auth(&sender.token)
            .json(&json!({"userIds": chunk}))
            .send()
            .await?;
        expect_ok(response).await?;
    }
    Ok(room_id)
}

async fn memory(ctx: &Arc<Ctx>, connections: usize, distinct: usize) -> anyhow::Result<Value> {
    let pid = ctx.server_pid.context("--server-pid is needed to read the server's memory")?;
    anyhow::ensure!(!ctx.users.is_empty(), "--tokens is needed");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = stats::rss_kib(pid)?;
    // Users are reused round robin when there are more connections than users (tabs).
    let users: Vec<SeededUser> = (0..connections).map(|i| ctx.users[i % distinct].clone()).collect();
    let started = Instant::now();
    let sockets = sio::connect_many(&ctx.bases, &users, None).await?;
    let connect_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded_kib = stats::rss_kib(pid)?;
    let alive = sockets.alive();
    drop(sockets);
    Ok(json!({
        "connections": alive,
        "connect_seconds": connect_s,
        "idle_rss_kib": idle_kib,
        "loaded_rss_kib": loaded_kib,
        "kib_per_connection": (loaded_kib as f64 - idle_kib as f64) / alive.max(1) as f64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_metrics_have_no_problems() {
        let m = json!({"count": 10, "errors": 0, "per_s": 5.0, "p99_ms": 3.0});
        assert!(problems(&m).is_empty());
        let d = json!({"sent": 5, "send_errors": 0, "expected": 500, "delivered": 500});
        assert!(problems(&d).is_empty());
    }

    #[test]
    fn failed_requests_lost_deliveries_and_empty_phases_are_problems() {
        let m = json!({"count": 8, "errors": 2, "first_error": "HTTP 500", "per_s": 4.0});
        assert_eq!(problems(&m), vec!["errors=2 HTTP 500"]);
        let d = json!({"sent": 5, "send_errors": 0, "expected": 500, "delivered": 499});
        assert_eq!(problems(&d), vec!["delivered 499 of 500"]);
        let nested =
            json!({"quiet": {"count": 0, "errors": 0, "per_s": 0.0}, "storm": {"count": 3, "errors": 0, "per_s": 1.0}});
        assert_eq!(problems(&nested), vec!["quiet.no request completed"]);
    }
}
