//! The `decide` scenario: submissions at a rate, each polled until it is decided.

use super::*;

/// Applications of one citizen in a `decide` run: each in its own 3-hour slot, so that none
/// overlaps another and none meets the daily limit of the default policy (5 a day).
pub(super) const DECIDE_SLOTS: u64 = 5;

/// Submissions at the offered rate (step `submit`); after each accepted one, a poller of
/// `GET /api/v1/applications/{id}` (after 50 ms, then at doubling intervals up to
/// `--poll-ms`) records the time from the submission's intended send to the first answer
/// that is no longer `submitted` (step `decision`, and the outcome's own step). The
/// resolution is the last interval: at most `--poll-ms`.
pub(super) async fn decide(
    args: &BenchArgs,
    client: &Client,
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Phase> {
    let citizens = Arc::new(prepare_citizens(args, client, args.citizens, 0).await?);
    let rec = Recorder::new(&[
        "submit (202)",
        "status poll",
        "decision (any)",
        "decision: approved",
        "decision: other",
    ]);
    let pollers = Arc::new(Mutex::new(JoinSet::new()));
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let op: Op = {
        let (citizens, pollers) = (citizens.clone(), pollers.clone());
        Arc::new(move |i, due, rec| {
            let n = citizens.len() as u64;
            let c = citizens[(i % n) as usize].clone();
            // The citizen's next slot: tomorrow 06:00, 09:00, ... (medical trips of 2 hours).
            let slot = (i / n) % DECIDE_SLOTS;
            let body = application(tomorrow_at(6) + time::Duration::hours(3 * slot as i64));
            let pollers = pollers.clone();
            Box::pin(async move {
                // Measured as its submission is (by when it was due): every counted
                // submission has its decision counted, and no other.
                let measured = rec.measures(due);
                let app = c.submit(&body, None).await.map_err(code)?;
                pollers
                    .lock()
                    .expect("pollers lock")
                    .spawn(await_decision(c, app.id, due, measured, rec, poll));
                Ok(())
            })
        })
    };
    let phase = phase(
        "decide",
        rec,
        op,
        mode,
        slots(args, mode),
        warmup,
        duration,
        args.quiet,
        Some(client.clone()),
    )
    .await;
    // The measured window is over; the decisions of measured submissions are still recorded
    // until every one is seen (each poller gives up 60 s after its submission was due).
    let mut set = std::mem::take(&mut *pollers.lock().expect("pollers lock"));
    while set.join_next().await.is_some() {}
    notes.push(format!(
        "{} citizens, each application in its own slot ({} per citizen before they repeat); decision latency = first status poll that sees the application decided − its intended send time (polls after 50 ms, doubling up to {} ms)",
        citizens.len(),
        DECIDE_SLOTS,
        args.poll_ms
    ));
    Ok(phase)
}

/// Polls one application until it leaves `submitted`; records the decision latency from
/// `due` when `measured`.
pub(super) async fn await_decision(
    c: Client,
    id: String,
    due: Instant,
    measured: bool,
    rec: Arc<Recorder>,
    poll: Duration,
) {
    let give_up = due + Duration::from_secs(60);
    // 50 ms, then doubling up to `poll`: fine resolution for quick decisions without
    // flooding the server with polls when they take longer.
    let mut wait = poll.min(Duration::from_millis(50));
    loop {
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(poll);
        let t = Instant::now();
        let answer = c.application(&id).await;
        let seen = Instant::now();
        if !measured {
            if answer.as_ref().is_ok_and(|a| a.status != "submitted") || seen > give_up {
                return;
            }
            continue;
        }
        match answer {
            Ok(app) => {
                rec.steps[1].ok(seen - t);
                if app.status != "submitted" {
                    rec.steps[2].ok(seen - due);
                    rec.steps[if app.status == "approved" { 3 } else { 4 }].ok(seen - due);
                    return;
                }
            }
            Err(e) => rec.steps[1].error(&code(e)),
        }
        if seen > give_up {
            rec.steps[2].error("undecided_after_60s");
            return;
        }
    }
}
