//! The legacy load scenario (SPEC §12): N users each upload a photo, register, log in,
//! apply, wait 15 seconds, list their passes and read the detail, all against a running
//! server with `--compat-v1`. Reports errors and per-step latency.
//!
//! `cargo run --release -p mpass --example legacy_load -- http://127.0.0.1:8080 2000 200`
//! (base URL, users, users in flight at once). Closed-loop: it measures each request's
//! own latency, not an open-loop rate; it is a correctness-under-load check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mpass_client::legacy::LegacyClient;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{Mutex, Semaphore};

const STEPS: [&str; 7] = ["photo", "upload", "register", "login", "apply", "list", "detail"];

#[derive(Default)]
struct Report {
    latencies: Vec<Vec<Duration>>,
    errors: Vec<String>,
    not_listed: u64,
    statuses: std::collections::BTreeMap<String, u64>,
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        let data: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
        w.write_image_data(&data).expect("png data");
    }
    out
}

async fn user(base: &str, n: u64, photo: Vec<u8>, report: Arc<Mutex<Report>>) -> Result<(), String> {
    let phone = format!("017{:08}", n % 100_000_000);
    let mut c = LegacyClient::new(base);
    let mut times = Vec::new();
    let mut step = async |i: usize, t: Instant, ok: bool, what: String| {
        times.push((i, t.elapsed()));
        if ok {
            Ok(())
        } else {
            Err(format!("{}: {what}", STEPS[i]))
        }
    };
    let t = Instant::now();
    let r = c.photo_url("image/png", "me.png").await.map_err(|e| e.to_string())?;
    step(0, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    let url = r.body["url"].as_str().unwrap_or_default().to_string();
    let t = Instant::now();
    let r = c.upload(&url, "image/png", photo).await.map_err(|e| e.to_string())?;
    step(1, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    let t = Instant::now();
    let body = json!({
        "name": format!("Load User {n}"), "mobilePhone": phone, "district": 1047, "thana": 10309,
        "dateOfBirth": "1985-07-03", "gender": "M", "idType": "NID",
        "idNumber": format!("19{:011}", n), "photo": url.split('?').next().unwrap_or_default()
    });
    let r = c.register(&body).await.map_err(|e| e.to_string())?;
    step(2, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    let t = Instant::now();
    let r = c.login(&phone, "03071985").await.map_err(|e| e.to_string())?;
    step(3, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    let start = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let t = Instant::now();
    let r = c
        .apply(&json!({
            "fromLocation": "Mirpur 10", "toLocation": "Dhaka Medical College", "district": 1047,
            "thana": 10309, "dateTime": start.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "durationInHour": 3, "type": "R", "reason": "Medical", "includeVehicle": false
        }))
        .await
        .map_err(|e| e.to_string())?;
    step(4, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    tokio::time::sleep(Duration::from_secs(15)).await;
    let t = Instant::now();
    let r = c.passes(None).await.map_err(|e| e.to_string())?;
    step(5, t, r.status.is_success(), format!("{} {}", r.status, r.body)).await?;
    let item = r.body["passes"][0].clone();
    let id = item["id"].as_str().unwrap_or_default().to_string();
    let t = Instant::now();
    let d = c.pass(&id).await.map_err(|e| e.to_string())?;
    step(6, t, d.status.is_success(), format!("{} {}", d.status, d.body)).await?;
    let mut rep = report.lock().await;
    for (i, d) in times {
        rep.latencies[i].push(d);
    }
    if id.is_empty() {
        rep.not_listed += 1;
    }
    *rep.statuses
        .entry(item["status"].as_str().unwrap_or("NONE").to_string())
        .or_default() += 1;
    Ok(())
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let users: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let in_flight: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    // Phones differ between runs against the same data directory.
    let first = (OffsetDateTime::now_utc().unix_timestamp() as u64 % 1000) * 100_000;
    let photo = png(96, 128);
    let report = Arc::new(Mutex::new(Report {
        latencies: vec![Vec::new(); STEPS.len()],
        ..Report::default()
    }));
    let gate = Arc::new(Semaphore::new(in_flight));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for n in first..first + users {
        let (base, photo, report, gate) = (base.clone(), photo.clone(), report.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            if let Err(e) = user(&base, n, photo, report.clone()).await {
                report.lock().await.errors.push(e);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut rep = report.lock().await;
    println!(
        "users {users}, in flight {in_flight}, wall {:.1} s, errors {}, not listed {}",
        began.elapsed().as_secs_f64(),
        rep.errors.len(),
        rep.not_listed
    );
    println!("statuses after 15 s: {:?}", rep.statuses);
    for (i, name) in STEPS.iter().enumerate() {
        let v = &mut rep.latencies[i];
        println!(
            "{name:>8}: n {:>5}  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    }
    for e in rep.errors.iter().take(10) {
        println!("error: {e}");
    }
    if !rep.errors.is_empty() || rep.not_listed > 0 {
        std::process::exit(1);
    }
}
