//! The users a scenario needs, logged in before the measurement: citizens with a profile,
//! police officers, approved passes, and the wrk script made of them.

use super::*;

/// The codes of the dev outbox, read by one poller for every login of the run, so that
/// logging in many users does not mean every one of them reading the outbox.
#[derive(Clone)]
pub(super) struct CodeBook {
    codes: Arc<Mutex<HashMap<String, String>>>,
    changed: Arc<Notify>,
}

impl CodeBook {
    pub(super) fn start(client: &Client) -> CodeBook {
        let book = CodeBook {
            codes: Arc::new(Mutex::new(HashMap::new())),
            changed: Arc::new(Notify::new()),
        };
        let (b, client) = (book.clone(), client.clone());
        let weak = Arc::downgrade(&book.codes);
        tokio::spawn(async move {
            // Stops when the last user of the book is gone.
            while weak.strong_count() > 1 {
                if let Ok(outbox) = client.dev_outbox_newest(500).await {
                    let mut codes = b.codes.lock().expect("codes lock");
                    // Newest first: keep the first code seen per phone.
                    let mut seen = std::collections::HashSet::new();
                    for m in outbox.messages {
                        let national = m.to.trim_start_matches("+88").to_string();
                        if !seen.insert(national.clone()) {
                            continue;
                        }
                        if let Some(c) = m.body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6) {
                            codes.insert(national, c.to_string());
                        }
                    }
                    drop(codes);
                    b.changed.notify_waiters();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        book
    }

    /// The code sent to `phone` (national form), waiting up to 30 s for it.
    pub(super) async fn code(&self, phone: &str) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let notified = self.changed.notified();
            if let Some(c) = self.codes.lock().expect("codes lock").remove(phone) {
                return Ok(c);
            }
            if Instant::now() >= deadline {
                return Err("no_otp_in_outbox".into());
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
        }
    }
}

/// Logs `phone` in through the dev outbox: a client acting as that user.
pub(super) async fn login(client: &Client, book: &CodeBook, phone: &str) -> Result<Client, String> {
    client.request_otp(phone).await.map_err(code)?;
    let c = book.code(phone).await?;
    let tokens = client.token(phone, &c).await.map_err(code)?;
    Ok(client.with_token(&tokens.access_token))
}

pub(super) fn phone_base(args: &BenchArgs) -> u64 {
    args.phone_base.unwrap_or_else(|| {
        // A new block of numbers every second: runs against the same data do not meet the
        // per-phone OTP limit of an earlier run.
        (OffsetDateTime::now_utc().unix_timestamp() as u64 * 1000) % 100_000_000
    })
}

/// The `n`th phone of this run: `013` and 8 digits.
pub(super) fn phone(base: u64, n: u64) -> String {
    format!("013{:08}", (base + n) % 100_000_000)
}

/// A valid adult profile whose document number is unique to the phone.
pub(super) fn profile(phone: &str) -> ProfileBody {
    ProfileBody {
        name: "Rahima Akter".into(),
        date_of_birth: "1990-04-12".into(),
        gender: "F".into(),
        id_type: "NID".into(),
        id_number: format!("{phone:0>13}"),
        home_area: THANA_A.into(),
    }
}

pub(super) fn dhaka() -> UtcOffset {
    UtcOffset::from_hms(6, 0, 0).expect("valid offset")
}

pub(super) fn tomorrow_at(hour: u8) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let day = now.date().next_day().expect("a tomorrow");
    day.with_hms(hour, 0, 0).expect("valid time").assume_offset(dhaka())
}

/// A medical one-way trip of two hours (medical trips are allowed during curfew too).
pub(super) fn application(start: OffsetDateTime) -> ApplicationBody {
    ApplicationBody {
        reason: "medical".into(),
        reason_note: None,
        from: PlaceBody {
            area: THANA_A.into(),
            address: "House 12, Road 4".into(),
        },
        to: PlaceBody {
            area: THANA_B.into(),
            address: "City Hospital".into(),
        },
        start: start
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats"),
        duration_hours: 2,
        trip: "one_way".into(),
        vehicle: None,
        companions: Vec::new(),
    }
}

/// Logs in `count` new citizens (phones `offset..offset+count` of this run) and saves
/// their profiles, 64 at a time, with a progress line.
pub(super) async fn prepare_citizens(
    args: &BenchArgs,
    client: &Client,
    count: usize,
    offset: u64,
) -> anyhow::Result<Vec<Client>> {
    let base = phone_base(args);
    let book = CodeBook::start(client);
    let began = Instant::now();
    let mut out = Vec::with_capacity(count);
    let mut set = JoinSet::new();
    let mut next = 0u64;
    let mut failures = Vec::new();
    while out.len() + failures.len() < count {
        while set.len() < 64 && (next as usize) < count {
            let (client, book, p) = (client.clone(), book.clone(), phone(base, offset + next));
            next += 1;
            set.spawn(async move {
                let c = login(&client, &book, &p).await?;
                c.put_profile(&profile(&p)).await.map_err(code)?;
                Ok::<_, String>(c)
            });
        }
        match set.join_next().await {
            Some(Ok(Ok(c))) => out.push(c),
            Some(Ok(Err(e))) => failures.push(e),
            Some(Err(e)) => failures.push(e.to_string()),
            None => break,
        }
        let done = out.len() + failures.len();
        if !args.quiet && done % 500 == 0 {
            eprintln!(
                "[prepare] {done}/{count} citizens logged in, {:.1} s",
                began.elapsed().as_secs_f64()
            );
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {count} citizens could not log in (first: {}); is the server's \
             otp_per_ip_per_minute raised (MPASS_OTP_PER_IP_PER_MINUTE=1000000) and its SMS \
             provider `dev`?",
            failures.len(),
            failures[0]
        );
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {count} citizens ready in {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    Ok(out)
}

/// The police officer's client; fails with the command to run if the role is missing.
pub(super) async fn police(args: &BenchArgs, client: &Client, book: &CodeBook, k: u64) -> anyhow::Result<Client> {
    let phone = match k {
        0 => args.police_phone.clone(),
        k => {
            let n: u64 = args.police_phone.parse().context("--police-phone is not a number")?;
            format!("0{}", n + k)
        }
    };
    let hint = format!("grant the role first: mpass admin grant {phone} police");
    let officer = match login(client, book, &phone).await {
        Ok(c) => c,
        Err(e) => bail!("the police officer {phone} could not log in: {e}"),
    };
    let me = officer.me().await.context("GET /api/v1/me of the police officer")?;
    if !me.roles.iter().any(|r| r == "police" || r == "police_supervisor") {
        bail!("{phone} is not police; {hint}");
    }
    Ok(officer)
}

/// `--wrk-script`: the verify scenario's officers and passes as a wrk script; request *i*
/// is officer *i* mod K checking pass *i* mod N, as in [`run`]. wrk counts answers other
/// than 2xx; it does not read the verdicts (the `verify` scenario requires green ones).
/// The max(K, N) distinct requests are formatted once per wrk thread (`init`), not once
/// per request: formatting each one in Lua cost wrk 6–8 µs more CPU per request, on the
/// machine it shares with the server.
pub async fn write_wrk_verify(args: &BenchArgs, path: &std::path::Path) -> anyhow::Result<()> {
    let client = Client::with_pool(&args.url, 80);
    let officers = prepare_officers(args, &client).await?;
    let passes = prepare_passes(args, &client).await?;
    let lua_list = |items: Vec<String>| {
        items
            .iter()
            .map(|s| serde_json::to_string(s).expect("strings serialise"))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let tokens = officers
        .iter()
        .map(|o| {
            o.access_token()
                .map(str::to_string)
                .context("an officer without a token")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let checkpoint = verify_position(args)?;
    let bodies = passes
        .iter()
        .map(|qr| {
            let body = VerifyBody {
                qr_text: Some(qr.clone()),
                checkpoint,
                ..VerifyBody::default()
            };
            serde_json::to_string(&body).expect("a verify body serialises")
        })
        .collect();
    let script = format!(
        "-- Written by `mpass bench verify --wrk-script`: {} officers, {} passes.\n\
         local tokens = {{\n{}\n}}\nlocal bodies = {{\n{}\n}}\nlocal requests = {{}}\nlocal n = 0\n\
         init = function(args)\n  for i = 0, math.max(#tokens, #bodies) - 1 do\n    \
         local headers = {{ [\"content-type\"] = \"application/json\", \
         [\"authorization\"] = \"Bearer \" .. tokens[(i % #tokens) + 1] }}\n    \
         -- Headers given to wrk with -H (e.g. a browser's Accept-Encoding) are added.\n    \
         for k, v in pairs(wrk.headers) do headers[k] = v end\n    \
         requests[i + 1] = wrk.format(\"POST\", nil, headers, bodies[(i % #bodies) + 1])\n  end\nend\n\
         request = function()\n  n = n + 1\n  return requests[(n % #requests) + 1]\nend\n",
        tokens.len(),
        passes.len(),
        lua_list(tokens),
        lua_list(bodies),
    );
    std::fs::write(path, script).with_context(|| format!("writing {}", path.display()))?;
    if !args.quiet {
        eprintln!("[prepare] wrk script written to {}", path.display());
    }
    Ok(())
}

/// Logs in the `--officers` police officers, 64 at a time.
pub(super) async fn prepare_officers(args: &BenchArgs, client: &Client) -> anyhow::Result<Vec<Client>> {
    let book = CodeBook::start(client);
    let began = Instant::now();
    let count = args.officers.max(1);
    let mut officers = Vec::with_capacity(count as usize);
    let mut set = JoinSet::new();
    let mut next = 0;
    while (officers.len() as u64) < count {
        while set.len() < 64 && next < count {
            let (args, client, book, k) = (args.clone(), client.clone(), book.clone(), next);
            next += 1;
            set.spawn(async move { police(&args, &client, &book, k).await });
        }
        match set.join_next().await {
            Some(joined) => officers.push(joined??),
            None => break,
        }
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {count} police officers logged in, {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    Ok(officers)
}

/// `--position`: where the verify scenario's checks are made, the centre of the trips'
/// origin thana (on the route, and the same place each time, so the verdict stays green).
pub(super) fn verify_position(args: &BenchArgs) -> anyhow::Result<Option<PositionBody>> {
    if !args.position {
        return Ok(None);
    }
    let area = mpass_domain::geo::areas()
        .get(THANA_A)
        .with_context(|| format!("thana {THANA_A} is not in the area list"))?;
    Ok(Some(PositionBody {
        lat: area.lat,
        lon: area.lon,
    }))
}

/// `args.passes` approved passes valid now, one per new citizen: their QR texts.
pub(super) async fn prepare_passes(args: &BenchArgs, client: &Client) -> anyhow::Result<Arc<Vec<String>>> {
    let citizens = prepare_citizens(args, client, args.passes, 0).await?;
    let began = Instant::now();
    // Valid now: a medical trip that started a minute ago.
    let body = Arc::new(application(
        OffsetDateTime::now_utc().to_offset(dhaka()) - time::Duration::minutes(1),
    ));
    let mut set = JoinSet::new();
    let mut passes = Vec::with_capacity(citizens.len());
    let mut failures = Vec::new();
    let mut it = citizens.into_iter();
    loop {
        while set.len() < 64 {
            let Some(c) = it.next() else { break };
            let body = body.clone();
            set.spawn(async move {
                let app = c.submit(&body, None).await.map_err(code)?;
                let app = c.wait_decided(&app.id, Duration::from_secs(120)).await.map_err(code)?;
                let Some(pass_id) = app.pass_id else {
                    return Err(format!("application {} is {}, not approved", app.id, app.status));
                };
                Ok(c.pass(&pass_id).await.map_err(code)?.qr_text)
            });
        }
        match set.join_next().await {
            Some(Ok(Ok(qr))) => passes.push(qr),
            Some(Ok(Err(e))) => failures.push(e),
            Some(Err(e)) => failures.push(e.to_string()),
            None => break,
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} passes could not be prepared (first: {})",
            failures.len(),
            failures[0]
        );
    }
    if !args.quiet {
        eprintln!(
            "[prepare] {} approved passes ready in {:.1} s",
            passes.len(),
            began.elapsed().as_secs_f64()
        );
    }
    Ok(Arc::new(passes))
}
