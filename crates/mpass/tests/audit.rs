//! The audit log end to end (SPEC §10): decisions, cancellations and grants are chained,
//! `GET /api/v1/audit` shows them to admins only, and `mpass audit verify` detects an
//! edited, a removed and a reordered entry in the SQLite file.

mod common;

use common::*;
use mpass::admin::AdminCommand;
use mpass::audit::{AuditCommand, verify};
use mpass_domain::audit::ChainProblem;
use reqwest::Method;

/// Builds a chain through the API: a decision, a cancellation, a role grant. Returns the
/// server and an admin token.
async fn server_with_history() -> (TestServer, String) {
    let srv = TestServer::start().await;
    let (a, _) = srv.citizen(&phone(30)).await;
    let (_, admin_tokens) = srv.citizen(&phone(31)).await;
    for _ in 0..2 {
        let submitted = a.submit(&default_application(), None).await.expect("202");
        let app = a.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
        a.cancel(&app.id).await.expect("cancel");
    }
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone(31),
            role: "admin".into(),
            districts: Vec::new(),
            count: 1,
        },
    )
    .await
    .expect("grant admin");
    let fresh = srv.client.refresh(&admin_tokens.refresh_token).await.expect("refresh");
    (srv, fresh.access_token)
}

async fn verdict(srv: &TestServer) -> mpass::audit::Verdict {
    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    verify(store.as_ref()).await.expect("read the chain")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_lists_for_admins_and_verifies() {
    let (srv, admin) = server_with_history().await;
    let res = srv
        .as_user(&admin)
        .raw(Method::GET, "/api/v1/audit?limit=10", None, vec![])
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let body = res.json().unwrap();
    let actions: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "application.decided",
            "application.cancelled",
            "application.decided",
            "application.cancelled",
            "role.granted"
        ]
    );
    assert_eq!(body["items"][4]["actor"], "cli");
    assert_eq!(body["next_after"], serde_json::Value::Null);
    let page = srv
        .as_user(&admin)
        .raw(Method::GET, "/api/v1/audit?after=1&limit=2", None, vec![])
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["items"][0]["seq"], 2);
    assert_eq!(page["next_after"], 3);
    assert_problem(
        &srv.as_user(&admin)
            .raw(Method::GET, "/api/v1/audit?limit=0", None, vec![])
            .await
            .unwrap(),
        400,
        "invalid_limit",
    );
    // A citizen may not read it; nobody anonymous either.
    let (citizen, _) = srv.citizen(&phone(32)).await;
    let res = citizen.raw(Method::GET, "/api/v1/audit", None, vec![]).await.unwrap();
    assert_problem(&res, 403, "forbidden");
    let res = srv
        .client
        .raw(Method::GET, "/api/v1/audit", None, vec![])
        .await
        .unwrap();
    assert_problem(&res, 401, "unauthorized");

    let (count, _) = verdict(&srv).await.expect("intact");
    assert_eq!(count, 5);
    let code = mpass::audit::run(srv.settings.clone(), AuditCommand::Verify)
        .await
        .unwrap();
    assert_eq!(format!("{code:?}"), format!("{:?}", std::process::ExitCode::SUCCESS));
    srv.finish().await;
}

/// Opens the SQLite file as an attacker with file access would, with the append-only
/// triggers dropped, and runs `tamper` on it.
fn tamper(srv: &TestServer, sql: &str) {
    let conn = rusqlite::Connection::open(srv.settings.data_dir.join("mpass.db")).unwrap();
    conn.execute_batch("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;")
        .unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_detects_an_edited_entry() {
    let (srv, _) = server_with_history().await;
    // The triggers refuse accidental edits.
    let conn = rusqlite::Connection::open(srv.settings.data_dir.join("mpass.db")).unwrap();
    assert!(
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 1", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_log WHERE seq = 1", []).is_err());
    drop(conn);

    tamper(
        &srv,
        r#"UPDATE audit_log SET data = '{"pass_id":null,"policy_version":"x","reasons":[],"status":"rejected"}' WHERE seq = 3"#,
    );
    let (err, verified) = verdict(&srv).await.expect_err("edited entry found");
    assert_eq!((err.seq, verified), (3, 2));
    assert_eq!(err.problem, ChainProblem::Content);
    let code = mpass::audit::run(srv.settings.clone(), AuditCommand::Verify)
        .await
        .unwrap();
    assert_eq!(format!("{code:?}"), format!("{:?}", std::process::ExitCode::FAILURE));
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_detects_a_removed_entry() {
    let (srv, _) = server_with_history().await;
    tamper(&srv, "DELETE FROM audit_log WHERE seq = 2");
    let (err, _) = verdict(&srv).await.expect_err("gap found");
    assert_eq!(err.seq, 2);
    assert!(matches!(err.problem, ChainProblem::Sequence { expected: 2, found: 3 }));
    // Renumbering the rest to hide the gap breaks the link instead.
    tamper(&srv, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2");
    let (err, _) = verdict(&srv).await.expect_err("broken link found");
    assert_eq!((err.seq, err.problem), (2, ChainProblem::Link));
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_detects_swapped_entries() {
    let (srv, _) = server_with_history().await;
    tamper(
        &srv,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2;
         UPDATE audit_log SET seq = 2 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = -1;",
    );
    let (err, verified) = verdict(&srv).await.expect_err("reordering found");
    assert_eq!((err.seq, verified), (2, 1));
    srv.finish().await;
}
