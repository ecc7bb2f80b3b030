//! Turns result lines into `latest.md` (figure, natter, reference, ratio) and an SVG chart
//! of natter's speed-up over the reference per figure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

/// One comparable number: where it is in a result line and whether bigger is better.
struct Figure {
    name: String,
    scenario: &'static str,
    params: Value,
    path: &'static [&'static str],
    unit: &'static str,
    higher_is_better: bool,
}

/// Every figure of the table; the memory rows are the `(sockets, users)` pairs measured
/// (`bench/run.sh` derives them from the machine's descriptor limit and the users it seeds).
fn figures(memory: &[(u64, u64)]) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut add = |name: String, scenario, params: Value, path, unit, higher_is_better| {
        out.push(Figure { name, scenario, params, path, unit, higher_is_better })
    };
    use serde_json::json;
    add("signup throughput".into(), "auth", json!({}), &["signup", "per_s"], "/s", true);
    add("signup p99".into(), "auth", json!({}), &["signup", "p99_ms"], "ms", false);
    add("login throughput".into(), "auth", json!({}), &["login", "per_s"], "/s", true);
    add("login p99".into(), "auth", json!({}), &["login", "p99_ms"], "ms", false);
    for c in [1, 16, 64] {
        add(format!("DM send throughput, c={c}"), "send", json!({"concurrency": c}), &["per_s"], "/s", true);
        add(format!("DM send p50, c={c}"), "send", json!({"concurrency": c}), &["p50_ms"], "ms", false);
        add(format!("DM send p99, c={c}"), "send", json!({"concurrency": c}), &["p99_ms"], "ms", false);
        let p = json!({"concurrency": c});
        add(format!("server CPU per DM send, c={c}"), "send", p, &["server_us_per_request"], "µs", false);
    }
    for c in [1, 16, 64] {
        let p = json!({"concurrency": c});
        add(format!("room post throughput, c={c}"), "post", p.clone(), &["per_s"], "/s", true);
        add(format!("room post p99, c={c}"), "post", p.clone(), &["p99_ms"], "ms", false);
        add(format!("server CPU per room post, c={c}"), "post", p, &["server_us_per_request"], "µs", false);
    }
    for limit in [50, 200, 1000] {
        let p = json!({"limit": limit});
        add(format!("page read ({limit} messages) throughput"), "read", p.clone(), &["per_s"], "/s", true);
        add(format!("page read ({limit} messages) p50"), "read", p.clone(), &["p50_ms"], "ms", false);
        add(format!("page read ({limit} messages) p99"), "read", p.clone(), &["p99_ms"], "ms", false);
        add(format!("server CPU per page read ({limit})"), "read", p, &["server_us_per_request"], "µs", false);
    }
    add("room list (500 rooms) throughput".into(), "rooms", json!({}), &["per_s"], "/s", true);
    add("room list p99".into(), "rooms", json!({}), &["p99_ms"], "ms", false);
    add("server CPU per room list".into(), "rooms", json!({}), &["server_us_per_request"], "µs", false);
    for n in [100, 1000, 10000] {
        for mode in ["dm", "group"] {
            let p = json!({"receivers": n, "mode": mode});
            add(format!("delivery {mode}, {n} receivers: p50"), "delivery", p.clone(), &["p50_ms"], "ms", false);
            add(format!("delivery {mode}, {n} receivers: p99"), "delivery", p.clone(), &["p99_ms"], "ms", false);
            add(format!("delivery {mode}, {n} receivers: max"), "delivery", p.clone(), &["max_ms"], "ms", false);
            add(
                format!("delivery {mode}, {n} receivers: events/s"),
                "delivery",
                p.clone(),
                &["delivered_per_s"],
                "/s",
                true,
            );
            add(format!("delivery {mode}, {n} receivers: lost"), "delivery", p, &["lost"], "", false);
        }
    }
    add("server RSS idle".into(), "memory", json!({"connections": 1000}), &["idle_rss_kib"], "KiB", false);
    for &(n, users) in memory {
        let who = if users == 1 { "one user".to_string() } else { format!("{users} users") };
        add(
            format!("memory per idle socket, {n} sockets of {who}"),
            "memory",
            json!({"connections": n, "users": users}),
            &["kib_per_connection"],
            "KiB",
            false,
        );
    }
    // The load generator must never be the bottleneck: its CPU beside the server's.
    for (name, scenario, params) in [
        ("page reads (50)", "read", json!({"limit": 50})),
        ("DM sends, c=16", "send", json!({"concurrency": 16})),
        ("delivery dm, 1000 receivers", "delivery", json!({"receivers": 1000, "mode": "dm"})),
    ] {
        add(format!("server CPU, {name}"), scenario, params.clone(), &["server_cpu_pct"], "%", false);
        add(format!("load generator CPU, {name}"), scenario, params, &["bench_cpu_pct"], "%", false);
    }
    add("read p99, quiet".into(), "isolation", json!({}), &["quiet", "p99_ms"], "ms", false);
    add("read p99, during a login storm".into(), "isolation", json!({}), &["storm", "p99_ms"], "ms", false);
    add("login storm p99 increase".into(), "isolation", json!({}), &["p99_ratio"], "x", false);
    out
}

/// Whether a result line's params contain every key/value of `wanted`.
fn params_match(line: &Value, wanted: &Value) -> bool {
    wanted.as_object().is_none_or(|w| w.iter().all(|(k, v)| &line["params"][k] == v))
}

fn value_at<'a>(metrics: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(metrics, |v, key| v.get(*key))
}

pub fn write(inputs: &[PathBuf], markdown: &Path, chart: &Path, machine: &str) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for input in inputs {
        for line in std::fs::read_to_string(input)?.lines().filter(|l| l.trim_start().starts_with('{')) {
            let mut value: Value = serde_json::from_str(line)?;
            // Derived: events that never arrived.
            if value["scenario"] == "delivery" {
                let lost = value["metrics"]["expected"].as_f64().unwrap_or(0.0)
                    - value["metrics"]["delivered"].as_f64().unwrap_or(0.0);
                value["metrics"]["lost"] = serde_json::json!(lost);
            }
            lines.push(value);
        }
    }
    let mut targets: Vec<String> = Vec::new();
    for line in &lines {
        let t = line["target"].as_str().unwrap_or("?").to_string();
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let reference = targets.iter().find(|t| t.starts_with("reference")).cloned();
    // The last line wins when a scenario ran twice for one target.
    let lookup = |target: &str, fig: &Figure| -> Option<f64> {
        // The reference has no group rooms: its message write, the DM send, is what a room
        // post is compared with.
        let scenario =
            if fig.scenario == "post" && Some(target) == reference.as_deref() { "send" } else { fig.scenario };
        lines
            .iter()
            .rev()
            .find(|l| l["target"] == target && l["scenario"] == scenario && params_match(l, &fig.params))
            .and_then(|l| value_at(&l["metrics"], fig.path))
            .and_then(Value::as_f64)
    };

    let mut md = String::new();
    writeln!(md, "# natter vs. the tutorial stack: latest benchmark\n")?;
    if !machine.is_empty() {
        writeln!(md, "{machine}\n")?;
    }
    let natter_targets: Vec<&String> = targets.iter().filter(|t| Some(*t) != reference.as_ref()).collect();
    write!(md, "| figure |")?;
    for t in &natter_targets {
        write!(md, " {t} |")?;
    }
    if let Some(r) = &reference {
        write!(md, " {r} |")?;
        for t in &natter_targets {
            write!(md, " {t} vs. reference |")?;
        }
    }
    writeln!(md)?;
    let columns = natter_targets.len() + reference.iter().count() * (1 + natter_targets.len());
    writeln!(md, "|---|{}", "---:|".repeat(columns))?;

    let mut speedups: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    // Sockets ascending, then users descending: distinct users, 100 users, one user.
    let mut memory: Vec<(u64, u64)> = lines
        .iter()
        .filter(|l| l["scenario"] == "memory")
        .filter_map(|l| Some((l["params"]["connections"].as_u64()?, l["params"]["users"].as_u64()?)))
        .collect();
    memory.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    memory.dedup();
    for fig in figures(&memory) {
        let values: Vec<Option<f64>> = natter_targets.iter().map(|t| lookup(t, &fig)).collect();
        let reference_value = reference.as_ref().and_then(|r| lookup(r, &fig));
        if values.iter().all(Option::is_none) && reference_value.is_none() {
            continue;
        }
        let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{} {}", human(v), fig.unit));
        write!(md, "| {} |", fig.name)?;
        for v in &values {
            write!(md, " {} |", cell(*v))?;
        }
        if reference.is_some() {
            write!(md, " {} |", cell(reference_value))?;
            for (t, v) in natter_targets.iter().zip(&values) {
                // CPU shares are context for the other figures, not a comparison.
                let ratio = match (v, reference_value) {
                    (Some(n), Some(r)) if *n > 0.0 && r > 0.0 && fig.unit != "%" => {
                        Some(if fig.higher_is_better { n / r } else { r / n })
                    }
                    _ => None,
                };
                match ratio {
                    Some(x) => {
                        write!(md, " {x:.1}x |")?;
                        if fig.name.contains("throughput") || fig.name.contains("p99") {
                            speedups.entry(fig.name.clone()).or_default().push(((*t).clone(), x));
                        }
                    }
                    None => write!(md, " n/a |")?,
                }
            }
        }
        writeln!(md)?;
    }
    writeln!(
        md,
        "\nRatios read \"natter is N times better\": throughput divided, latency and memory inverted. \
         Room posts are compared with the reference's DM send (it has no group rooms). \
         `n/a`: not measured for that target (the reference has no group rooms; scenarios that failed or timed out are listed in failed.txt), or no ratio (CPU shares, as % of one core)."
    )?;
    std::fs::write(markdown, md)?;
    draw(chart, &speedups)?;
    Ok(())
}

fn human(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Horizontal bars: natter's advantage per figure (log scale), one bar per natter target,
/// with the 10x target marked.
fn draw(path: &Path, speedups: &BTreeMap<String, Vec<(String, f64)>>) -> anyhow::Result<()> {
    let rows: Vec<(String, String, f64)> =
        speedups.iter().flat_map(|(fig, v)| v.iter().map(move |(t, x)| (fig.clone(), t.clone(), *x))).collect();
    let height = 120 + 26 * rows.len().max(1) as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = rows.iter().map(|r| r.2).fold(10.0_f64, f64::max) * 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption("natter vs. Node tutorial stack (times better, log scale)", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(380)
        .build_cartesian_2d((0.1_f64..max).log_scale(), 0..rows.len().max(1))?;
    chart
        .configure_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|i| rows.get(*i).map(|r| format!("{} [{}]", r.0, r.1)).unwrap_or_default())
        .x_desc("times better than the reference")
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let color = if r.2 >= 10.0 { GREEN.mix(0.7) } else { RED.mix(0.6) };
        Rectangle::new([(0.1, i), (r.2.max(0.1), i + 1)], color.filled())
    }))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(10.0, 0), (10.0, rows.len().max(1))],
        BLACK.stroke_width(2),
    )))?;
    root.present()?;
    Ok(())
}
