//! `mpass bench` (issue 8): the load generator run as a user runs it, the binary against a
//! real server, for about a second per scenario. No timing assertions: the summary must be
//! well formed, count what the server really did, and give its ratios to the ceiling.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use mpass::admin::AdminCommand;
use serde_json::Value;

/// Runs `mpass bench ARGS --json FILE` against `srv` and answers the JSON summary.
async fn bench(srv: &TestServer, args: &[&str]) -> Value {
    let out = srv.dir.path().join(format!("bench-{}.json", args[0]));
    let mut with_json = args.to_vec();
    with_json.extend(["--json", out.to_str().expect("a UTF-8 path")]);
    let output = mpass_bench(srv, &with_json).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "mpass bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("p99.9 ms"), "the table is printed: {stdout}");
    read_json(&out)
}

/// Runs `mpass bench ARGS --url SERVER --quiet` and answers how it ended.
async fn mpass_bench(srv: &TestServer, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpass"));
    cmd.arg("bench")
        .args(args)
        .args(["--url", srv.client.base(), "--quiet"]);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("mpass bench runs")
}

/// Grants `police` to `count` numbers from 01900000000 up, as `mpass admin grant --count`.
async fn grant_police(srv: &TestServer, count: u32) {
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: "01900000000".into(),
            role: "police".into(),
            districts: vec![],
            count,
        },
    )
    .await
    .expect("grant police");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary written")).expect("summary is JSON")
}

/// A row is sane: successes counted, percentiles in order, throughput = ok / seconds
/// (when the row's window is the summary's).
fn assert_sane(row: &Value, seconds: Option<f64>) {
    let ok = row["ok"].as_u64().expect("ok");
    assert!(ok > 0, "{row}");
    let p = |k: &str| row[k].as_f64().unwrap_or_else(|| panic!("{k} in {row}"));
    assert!(p("p50_ms") > 0.0, "{row}");
    assert!(p("p50_ms") <= p("p90_ms") && p("p90_ms") <= p("p99_ms"), "{row}");
    assert!(p("p99_ms") <= p("p999_ms") && p("p999_ms") <= p("max_ms"), "{row}");
    assert!(p("throughput_per_s") > 0.0, "{row}");
    if let Some(seconds) = seconds {
        let expected = ok as f64 / seconds;
        assert!(
            (p("throughput_per_s") - expected).abs() < 1e-6 * expected.max(1.0),
            "{row}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_ceiling_submit_and_verify_report_what_the_server_did() {
    let srv = TestServer::start_with(|s| {
        s.otp_per_ip_per_minute = 1_000_000;
        s.submissions_per_citizen_per_hour = 1_000_000;
    })
    .await;

    // ceiling: closed loop, no ceiling row of its own.
    let s = bench(
        &srv,
        &["ceiling", "--duration", "1", "--warmup", "0", "--concurrency", "4"],
    )
    .await;
    assert_eq!(s["scenario"], "ceiling");
    assert_eq!(s["mode"], "closed");
    assert!(s["ceiling"].is_null(), "{s}");
    let seconds = s["seconds"].as_f64().expect("seconds");
    assert_sane(&s["rows"][0], Some(seconds));
    assert_eq!(s["rows"][0]["errors"], 0, "{s}");

    // submit: open loop at 40/s from 5 citizens, after a half-second ceiling.
    let s = bench(
        &srv,
        &[
            "submit",
            "--rate",
            "40",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--ceiling-secs",
            "0.5",
            "--citizens",
            "5",
            "--concurrency",
            "8",
        ],
    )
    .await;
    assert_eq!(s["mode"], "open");
    assert_eq!(s["rate"], 40.0);
    let seconds = s["seconds"].as_f64().expect("seconds");
    let row = &s["rows"][0];
    assert_sane(row, Some(seconds));
    assert_only_drops(row, &s);
    let ceiling = &s["ceiling"];
    assert_sane(ceiling, None);
    // Measured before and after the load; the higher is the base of the ratios, so a
    // disturbed measurement cannot flatter them.
    let both: Vec<f64> = s["ceiling_before_after_per_s"]
        .as_array()
        .expect("ceiling before and after")
        .iter()
        .map(|v| v.as_f64().expect("a rate"))
        .collect();
    assert!(both.len() == 2 && both.iter().all(|&c| c > 0.0), "{s}");
    assert_eq!(ceiling["throughput_per_s"].as_f64(), Some(both[0].max(both[1])), "{s}");
    let ratio = row["ratio_to_ceiling"]["throughput"].as_f64().expect("ratio");
    let expected = row["throughput_per_s"].as_f64().unwrap() / ceiling["throughput_per_s"].as_f64().unwrap();
    assert!((ratio - expected).abs() < 1e-9, "{s}");
    // 40/s for one second: the schedule sends 40, each answered 202 or dropped by the
    // generator when every slot was busy (a slow shared machine); nothing else.
    let ok = row["ok"].as_u64().expect("ok");
    assert_eq!(ok + s["dropped"].as_u64().expect("dropped"), 40, "{s}");
    assert!(ok > 0, "{s}");

    // The server holds every application the summary counted.
    let analyst_phone = phone(9001);
    let (_, tokens) = srv.citizen(&analyst_phone).await;
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: analyst_phone.clone(),
            role: "analyst".into(),
            districts: vec![],
            count: 1,
        },
    )
    .await
    .expect("grant analyst");
    let fresh = srv.client.refresh(&tokens.refresh_token).await.expect("refresh");
    let stats = srv
        .as_user(&fresh.access_token)
        .stats_summary(&[])
        .await
        .expect("summary");
    assert_eq!(stats.applications.total, ok as i64, "{stats:?}");

    // verify: 3 approved passes prepared, checked online by two police officers (granted
    // as a block of numbers), open loop within the per-officer limit (120 a minute, burst
    // included).
    grant_police(&srv, 2).await;
    let s = bench(
        &srv,
        &[
            "verify",
            "--passes",
            "3",
            "--officers",
            "2",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--ceiling-secs",
            "0.5",
            "--rate",
            "20",
            "--concurrency",
            "2",
        ],
    )
    .await;
    let seconds = s["seconds"].as_f64().expect("seconds");
    assert_sane(&s["rows"][0], Some(seconds));
    // Green verdicts only (a request the generator dropped for lack of a free slot was
    // never sent).
    assert_only_drops(&s["rows"][0], &s);
    assert!(s["rows"][0]["ok"].as_u64().expect("ok") > 0, "{s}");
    assert!(
        s["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n == "2 police officers taking turns"),
        "{s}"
    );

    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_verify_without_the_police_role_says_what_to_run() {
    let srv = TestServer::start_with(|s| {
        s.otp_per_ip_per_minute = 1_000_000;
        s.submissions_per_citizen_per_hour = 1_000_000;
    })
    .await;
    let out = mpass_bench(&srv, &["verify", "--police-phone", "01900000007"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mpass admin grant 01900000007 police"), "{stderr}");
    srv.finish().await;
}

/// Every error of `row` is a request the generator dropped (no free slot): none came
/// from the server.
fn assert_only_drops(row: &Value, summary: &Value) {
    let codes = row["error_codes"].as_object().expect("error_codes");
    assert!(codes.keys().all(|k| k == "dropped"), "server errors: {summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_decide_sees_every_measured_submission_decided() {
    let srv = TestServer::start_with(|s| {
        s.otp_per_ip_per_minute = 1_000_000;
        s.submissions_per_citizen_per_hour = 1_000_000;
    })
    .await;
    let s = bench(
        &srv,
        &[
            "decide",
            // 8 citizens × 5 slots: the warm-up's 10 and the window's 20 applications
            // each have a slot of their own.
            "--citizens",
            "8",
            "--duration",
            "1",
            // With a warm-up, so that submissions end on both sides of the window's start:
            // each decision is counted as its submission is.
            "--warmup",
            "0.5",
            "--ceiling-secs",
            "0.3",
            "--rate",
            "20",
            "--concurrency",
            "8",
            "--poll-ms",
            "100",
        ],
    )
    .await;
    let row = |name: &str| {
        s["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("row {name} in {s}"))
            .clone()
    };
    let submitted = row("submit (202)");
    assert_only_drops(&submitted, &s);
    let submitted = submitted["ok"].as_u64().expect("ok");
    assert!(submitted > 0, "{s}");
    // Each citizen's applications take distinct slots: every one is decided, and approved.
    let decided = row("decision (any)");
    assert_eq!(decided["ok"].as_u64(), Some(submitted), "{s}");
    assert_eq!(decided["errors"], 0, "{s}");
    assert_eq!(row("decision: approved")["ok"].as_u64(), Some(submitted), "{s}");
    assert_sane(&decided, None);
    // A decision is seen no sooner than its submission was acknowledged.
    assert!(
        decided["p50_ms"].as_f64() >= row("submit (202)")["p50_ms"].as_f64(),
        "{s}"
    );
    srv.finish().await;
}

/// The strings of `local NAME = { ... }` in a script `mpass bench --wrk-script` wrote.
fn lua_strings(script: &str, name: &str) -> Vec<String> {
    let start = format!("local {name} = {{");
    script
        .lines()
        .skip_while(|l| *l != start)
        .skip(1)
        .take_while(|l| *l != "}")
        .map(|l| serde_json::from_str(l.trim_end_matches(',')).expect("a Lua string in JSON's syntax"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_verify_writes_a_wrk_script_of_working_checks() {
    let srv = TestServer::start_with(|s| {
        s.otp_per_ip_per_minute = 1_000_000;
        s.submissions_per_citizen_per_hour = 1_000_000;
    })
    .await;
    grant_police(&srv, 2).await;
    let script = srv.dir.path().join("verify.lua");
    let script_arg = script.to_str().expect("a UTF-8 path");
    let out = mpass_bench(
        &srv,
        &["verify", "--passes", "3", "--officers", "2", "--wrk-script", script_arg],
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing measured, no table");
    let lua = std::fs::read_to_string(&script).expect("script written");
    assert!(
        lua.contains("request = function()") && lua.contains("wrk.format(\"POST\""),
        "{lua}"
    );
    let tokens = lua_strings(&lua, "tokens");
    let bodies = lua_strings(&lua, "bodies");
    assert_eq!((tokens.len(), bodies.len()), (2, 3), "{lua}");
    // What wrk would send: each body by each officer is a green check.
    for token in &tokens {
        for body in &bodies {
            let body: Value = serde_json::from_str(body).expect("a JSON body");
            let qr = body["qr_text"].as_str().expect("a QR text");
            assert!(qr.starts_with("MP1:"), "{body}");
            let body = mpass_client::VerifyBody {
                qr_text: Some(qr.to_string()),
                ..Default::default()
            };
            let verdict = srv.as_user(token).verify(&body).await.expect("verify");
            assert_eq!(verdict.result, "green", "{verdict:?}");
        }
    }
    srv.finish().await;
}

/// `--rounds`: the closed loop's window split in rounds, the ceiling measured between them.
/// Each round's ratio is to the higher of the ceilings around it, the rounds chain (one's
/// ceiling after is the next one's before), the first and last are the summary's ceilings,
/// and the median is the middle ratio. An open loop is refused, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_in_rounds_pairs_each_window_with_the_ceilings_around_it() {
    let srv = TestServer::start_with(|s| {
        s.otp_per_ip_per_minute = 1_000_000;
        s.submissions_per_citizen_per_hour = 1_000_000;
    })
    .await;
    let s = bench(
        &srv,
        &[
            "submit",
            "--rounds",
            "3",
            "--duration",
            "1.5",
            "--warmup",
            "0",
            "--ceiling-secs",
            "0.3",
            "--citizens",
            "3",
            "--concurrency",
            "2",
        ],
    )
    .await;
    assert_eq!(s["mode"], "closed");
    assert_sane(&s["rows"][0], Some(s["seconds"].as_f64().expect("seconds")));
    let rounds = s["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 3, "{s}");
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    let mut ratios = Vec::new();
    for (i, r) in rounds.iter().enumerate() {
        let base = f(r, "ceiling_before_per_s").max(f(r, "ceiling_after_per_s"));
        assert!(base > 0.0 && f(r, "throughput_per_s") > 0.0, "{s}");
        assert!((f(r, "ratio") - f(r, "throughput_per_s") / base).abs() < 1e-9, "{s}");
        if i > 0 {
            assert_eq!(r["ceiling_before_per_s"], rounds[i - 1]["ceiling_after_per_s"], "{s}");
        }
        ratios.push(f(r, "ratio"));
    }
    let both = s["ceiling_before_after_per_s"].as_array().expect("ceilings");
    assert_eq!(rounds[0]["ceiling_before_per_s"], both[0], "{s}");
    assert_eq!(rounds[2]["ceiling_after_per_s"], both[1], "{s}");
    ratios.sort_by(f64::total_cmp);
    assert_eq!(s["ratio_median_of_rounds"].as_f64(), Some(ratios[1]), "{s}");
    // The generator's own CPU over the windows: some, per submission and in all, and the
    // ceiling's per request (it shares the machine with the server).
    let cpus = s["generator_cpus"].as_f64().expect("generator_cpus");
    assert!(cpus > 0.0 && cpus < 64.0, "{s}");
    assert!(
        s["rows"][0]["generator_cpu_us_per_op"]
            .as_f64()
            .is_some_and(|us| us > 0.0),
        "{s}"
    );
    assert!(
        s["ceiling"]["generator_cpu_us_per_op"]
            .as_f64()
            .is_some_and(|us| us >= 0.0),
        "{s}"
    );

    let out = mpass_bench(&srv, &["submit", "--rounds", "2", "--rate", "5"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--rounds is for the closed loop"), "{stderr}");
    srv.finish().await;
}
