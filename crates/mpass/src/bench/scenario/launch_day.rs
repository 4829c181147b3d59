//! The `launch-day` scenario: the realistic mix, one new user's whole day at a time.

use super::*;

/// One new user's day, as the steps of one operation.
pub(super) async fn launch_day(
    args: &BenchArgs,
    client: &Client,
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    notes: &mut Vec<String>,
) -> anyhow::Result<Phase> {
    let book = CodeBook::start(client);
    let officers = Arc::new(prepare_officers(args, client).await?);
    let base = phone_base(args);
    let poll = Duration::from_millis(args.poll_ms.max(1).max(250));
    let op: Op = {
        let client = client.clone();
        Arc::new(move |i, _, rec| {
            let police = officers[i as usize % officers.len()].clone();
            let (client, book, p) = (client.clone(), book.clone(), phone(base, i));
            Box::pin(async move { one_user(&client, &book, &police, &p, &rec, poll).await })
        })
    };
    let phase = phase(
        "launch-day",
        Recorder::new(&[
            "user (whole day)",
            "otp request",
            "otp via dev outbox",
            "token",
            "profile",
            "apply (202)",
            "status poll",
            "pass",
            "qr.svg",
            "police verify",
        ]),
        op,
        mode,
        slots(args, mode),
        warmup,
        duration,
        args.quiet,
        Some(client.clone()),
    )
    .await;
    notes.push(format!(
        "each user: OTP, login, profile, apply, poll status every {} ms until decided, pass, QR, \
         one police verification; `otp via dev outbox` is the bench's own wait for the code",
        poll.as_millis()
    ));
    Ok(phase)
}

pub(super) async fn one_user(
    client: &Client,
    book: &CodeBook,
    police: &Client,
    phone: &str,
    rec: &Recorder,
    poll: Duration,
) -> Result<(), String> {
    // Each step: time it, record it, stop the user's day at its first failure.
    macro_rules! step {
        ($i:expr, $call:expr) => {{
            let t = Instant::now();
            match $call.await {
                Ok(v) => {
                    rec.ok($i, t.elapsed());
                    v
                }
                Err(e) => {
                    let e: String = e;
                    rec.error($i, &e);
                    return Err(e);
                }
            }
        }};
    }
    step!(1, async { client.request_otp(phone).await.map_err(code) });
    let otp = step!(2, book.code(phone));
    let tokens = step!(3, async { client.token(phone, &otp).await.map_err(code) });
    let me = client.with_token(&tokens.access_token);
    step!(4, async { me.put_profile(&profile(phone)).await.map_err(code) });
    let app = step!(5, async {
        me.submit(&application(tomorrow_at(10)), None).await.map_err(code)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let decided = loop {
        tokio::time::sleep(poll).await;
        let a = step!(6, async { me.application(&app.id).await.map_err(code) });
        if a.status != "submitted" {
            break a;
        }
        if Instant::now() > deadline {
            rec.error(6, "undecided_after_60s");
            return Err("undecided_after_60s".into());
        }
    };
    let Some(pass_id) = decided.pass_id else {
        return Err(format!("not_approved_{}", decided.status));
    };
    let pass = step!(7, async { me.pass(&pass_id).await.map_err(code) });
    step!(8, async { me.pass_qr(&pass_id, "svg").await.map_err(code) });
    let body = VerifyBody {
        qr_text: Some(pass.qr_text),
        ..VerifyBody::default()
    };
    // The pass starts tomorrow: online verification answers it is not valid yet.
    step!(9, async { police.verify(&body).await.map_err(code) });
    Ok(())
}
