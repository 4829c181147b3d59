//! The web pages' words and small steps, without a browser: staff pages name the role they
//! need, a new code asked for too soon keeps the code page, "1 hour", the home page's rules
//! (phrased as rules, with the numbers of the policy in force), the pass page's print hint
//! and a cancel that asks first. Each was found wrong in a walkthrough of the pages.

mod common;

use std::time::Duration;

use common::visitor::{Page, Visitor, log_in, with_profile};
use common::{THANA_A, THANA_B, TestServer, tomorrow_at};

#[tokio::test]
async fn staff_pages_tell_a_citizen_which_role_they_need() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    log_in(&server, &mut v, "01712000031").await;
    let pages = [
        (
            "/dashboard",
            "Ask an administrator for the analyst role.",
            "বিশ্লেষকের ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        (
            "/review",
            "Ask an administrator for the reviewer role.",
            "যাচাইকারীর ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        (
            "/verify",
            "Ask an administrator for the police role.",
            "পুলিশ ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        (
            "/admin",
            "Ask an administrator for the admin role.",
            "প্রশাসকের ভূমিকার জন্য একজন প্রশাসককে বলুন।",
        ),
    ];
    for (path, en, _) in pages {
        let page = v.get(path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(page.body.contains("<h1>Not allowed</h1>"), "{path}: {}", page.body);
        assert!(page.body.contains(en), "{path}: {}", page.body);
        assert!(!page.body.contains("on our side"), "{path}: {}", page.body);
    }
    v.get("/lang/bn?next=/").await;
    for (path, _, bn) in pages {
        let page = v.get(path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(page.body.contains(bn), "{path}: {}", page.body);
        assert!(!page.body.contains("আমাদের দিকে"), "{path}: {}", page.body);
    }
    server.finish().await;
}

#[tokio::test]
async fn a_new_code_asked_for_too_soon_keeps_the_code_page() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let phone = "01712000032";
    let csrf = v.get("/login").await.hidden("csrf");
    let sent = v.post("/login", &[("csrf", &csrf), ("phone", phone)]).await;
    assert_eq!((sent.status, sent.location()), (303, "/login/code"), "{}", sent.body);
    v.get("/login/code").await;
    let wrong = v.post("/login/code", &[("csrf", &csrf), ("code", "000000")]).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);

    // "Send a new code" within the minute, as the code page's second form posts it.
    let number = wrong.hidden("phone");
    let resend = [("csrf", csrf.as_str()), ("phone", number.as_str()), ("resend", "1")];
    let refused = v.post("/login", &resend).await;
    // Back to the code page by a redirect, so a reload sends nothing again.
    assert_eq!(
        (refused.status, refused.location()),
        (303, "/login/code"),
        "{}",
        refused.body
    );
    let again = v.get("/login/code").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(
        again.body.contains("action=\"/login/code\""),
        "still the code page: {}",
        again.body
    );
    assert!(again.body.contains("You can ask for a new code in "), "{}", again.body);
    assert!(
        again.body.contains(" seconds. The code we already sent is still valid"),
        "{}",
        again.body
    );
    assert!(!again.body.contains("Too many attempts"), "{}", again.body);

    // The notice is shown once: a reload is the plain code page.
    let reloaded = v.get("/login/code").await;
    assert!(
        !reloaded.body.contains("You can ask for a new code"),
        "{}",
        reloaded.body
    );

    v.get("/lang/bn?next=/login/code").await;
    let refused = v.post("/login", &resend).await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    let again = v.get("/login/code").await;
    assert!(
        again
            .body
            .contains("সেকেন্ড পরে নতুন কোড চাইতে পারবেন। আগে পাঠানো কোডটি এখনো বৈধ"),
        "{}",
        again.body
    );

    // And it is: the code first sent logs in.
    let code = common::eventually("the SMS code", Duration::from_secs(15), || async {
        server.client.dev_code(phone).await.ok().flatten()
    })
    .await;
    let logged_in = v.post("/login/code", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!((logged_in.status, logged_in.location()), (303, "/profile"));
    server.finish().await;
}

#[tokio::test]
async fn the_duration_reads_1_hour() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    with_profile(&server, &mut v, "01712000033").await;
    let form = v.get("/apply").await;
    assert!(
        form.body.contains("<option value=\"1\">1 hour</option>"),
        "{}",
        form.body
    );
    assert!(form.body.contains("<option value=\"12\">12 hours</option>"));
    assert!(!form.body.contains(">1 hours<"));
    v.get("/lang/bn?next=/apply").await;
    let form = v.get("/apply").await;
    assert!(
        form.body.contains("<option value=\"1\">১ ঘণ্টা</option>"),
        "{}",
        form.body
    );
    server.finish().await;
}

/// The items of the list of rules on the home page.
fn rules(home: &Page) -> Vec<String> {
    let at = home
        .body
        .find("<h2>Current rules</h2>")
        .or_else(|| home.body.find("<h2>বর্তমান নিয়ম</h2>"));
    let list = &home.body[at.expect("the rules")..];
    let list = &list[list.find("<ul>").expect("a list")..list.find("</ul>").expect("its end")];
    list.split("<li>")
        .skip(1)
        .map(|i| i.trim_end_matches("</li>").to_string())
        .collect()
}

#[tokio::test]
async fn the_home_page_states_the_rules_in_force_not_decisions() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let en = rules(&v.get("/").await);
    assert!(
        en.contains(
            &"The applicant already has an approved pass for part of the time. The application is refused.".into()
        ),
        "{en:#?}"
    );
    assert!(
        en.iter()
            .any(|r| r.starts_with("The applicant already has 7 or more approved passes within 7 days")),
        "{en:#?}"
    );
    assert!(en.iter().any(|r| r.contains("curfew hours (22:00–05:00)")), "{en:#?}");
    assert!(
        en.iter().all(|r| !r.contains("You ") && !r.contains("your ")),
        "{en:#?}"
    );
    v.get("/lang/bn?next=/").await;
    let bn = rules(&v.get("/").await);
    assert_eq!(bn.len(), en.len());
    assert!(
        bn.iter().any(|r| r.contains("আবেদনকারীর আরেকটি অনুমোদিত পাস আছে")),
        "{bn:#?}"
    );
    assert!(bn.iter().all(|r| !r.contains("আপনার")), "{bn:#?}");

    // An admin moves the curfew: the home page says so at once.
    let admin_phone = common::phone(34);
    let (_, tokens) = server.client.login_dev(&admin_phone).await.expect("login");
    common::police::grant(&server, &admin_phone, "admin", &[]).await;
    let fresh = server.client.refresh(&tokens.refresh_token).await.expect("refresh");
    let mut admin = Visitor::new(server.client.base());
    let auth = format!("{}~{}", fresh.access_token, fresh.refresh_token);
    admin.cookies.insert("mp_auth".into(), auth);
    let form = admin.get("/admin/policy").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.hidden("csrf");
    let saved = admin
        .post(
            "/admin/policy",
            &[
                ("csrf", &csrf),
                ("areas", ""),
                ("curfew_start", "20:30"),
                ("curfew_end", "06:15"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let bn = rules(&v.get("/").await);
    assert!(bn.iter().any(|r| r.contains("(২০:৩০–০৬:১৫)")), "{bn:#?}");
    server.finish().await;
}

/// Applies for tomorrow's trip through the form; the page of applications once approved.
async fn approved_application(v: &mut Visitor, csrf: &str) -> Page {
    let idem = v.get("/apply").await.hidden("idem");
    let date = tomorrow_at(11, 0).date().to_string();
    let sent = v
        .post(
            "/apply",
            &[
                ("csrf", csrf),
                ("idem", &idem),
                ("reason", "groceries"),
                ("from.area", THANA_A),
                ("from.address", "House 12"),
                ("to.area", THANA_B),
                ("to.address", "Kawran Bazar"),
                ("start_date", &date),
                ("start_time", "11:00"),
                ("duration_hours", "3"),
                ("trip", "round_trip"),
                ("idem_sent", "1"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = v.get("/applications").await;
        if list.body.contains("status approved") {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no approval in time: {}",
            list.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The path after `prefix` up to the closing quote, from the first place it appears.
fn path_after(body: &str, prefix: &str) -> String {
    let at = body.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {body}"));
    body[at..].split('"').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_pass_page_hints_at_printing_only_without_script_and_a_cancel_asks_first() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let csrf = with_profile(&server, &mut v, "01712000035").await;
    let list = approved_application(&mut v, &csrf).await;

    // The pass page: the Print button (shown by the script) without a hint next to it;
    // the hint for pages without the script only in <noscript>.
    let pass = v.get(&path_after(&list.body, "/passes/")).await;
    assert_eq!(pass.status, 200);
    assert!(pass.body.contains("data-print"), "{}", pass.body);
    let hint = "To print it, use your browser's Print.";
    assert!(
        pass.body.contains(&format!("<noscript> {hint}</noscript>")),
        "{}",
        pass.body
    );
    assert_eq!(pass.body.matches("browser's Print").count(), 1);

    // Cancelling: the button only opens the question, the real submit is inside it.
    let confirm = "<details class=\"confirm\"><summary class=\"button secondary\">Cancel…</summary>";
    assert!(list.body.contains(confirm), "{}", list.body);
    assert!(list.body.contains("Its pass stops working at once."), "{}", list.body);
    let cancel = path_after(&list.body, "/applications/");
    assert!(cancel.ends_with("/cancel"), "{cancel}");
    let (opens, form, closes) = (
        list.body.find("<details").expect("a disclosure"),
        list.body.find(&cancel).expect("the form"),
        list.body.find("</details>").expect("its end"),
    );
    assert!(opens < form && form < closes, "the form is inside the disclosure");

    // A post without the confirmation (an old page) asks the question and cancels nothing.
    let asked = v.post(&cancel, &[("csrf", &csrf)]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Cancel this application?"), "{}", asked.body);
    assert!(asked.body.contains("name=\"confirm\" value=\"1\""), "{}", asked.body);
    assert!(v.get("/applications").await.body.contains("status approved"));

    let pass_path = path_after(&list.body, "/passes/");
    let pdf = v.get(&format!("{pass_path}/pass.pdf")).await;
    assert_eq!(pdf.status, 200, "a usable pass prints");

    let done = v.post(&cancel, &[("csrf", &csrf), ("confirm", "1")]).await;
    assert_eq!((done.status, done.location()), (303, "/applications"), "{}", done.body);
    let after = v.get("/applications").await;
    assert!(after.body.contains("status cancelled"), "{}", after.body);
    // The card says what happened, not the decision that no longer holds.
    assert!(
        after
            .body
            .contains("This application was cancelled. Its pass no longer works at checkpoints."),
        "{}",
        after.body
    );
    assert!(!after.body.contains("pass is approved"), "{}", after.body);
    assert!(
        !after.body.contains(&format!("href=\"{pass_path}\"")),
        "no link to open the pass"
    );
    // Its page shows nothing to take to a checkpoint, and its PDF (with the signed QR) is
    // no longer served.
    let pass = v.get(&pass_path).await;
    assert_eq!(pass.status, 200);
    assert!(pass.body.contains("This pass cannot be used."), "{}", pass.body);
    for gone in ["at checkpoints", "pass.pdf", "data-print", "<svg"] {
        assert!(!pass.body.contains(gone), "{gone}: {}", pass.body);
    }
    let pdf = v.get(&format!("{pass_path}/pass.pdf")).await;
    assert_eq!(pdf.status, 409, "{}", pdf.body);
    assert!(pdf.body.contains("There is nothing to print."), "{}", pdf.body);
    assert!(pdf.body.contains("<h1>Cannot be done</h1>"), "{}", pdf.body);
    server.finish().await;
}
