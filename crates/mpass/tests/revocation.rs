//! Revocation by admins and police supervisors (SPEC §5, §8, §10, §14): only they may
//! revoke, the pass turns `revoked`, verifiers see it in the revocation list, the holder is
//! told by SMS and the audit chain records it and stays intact.

mod common;

use std::collections::HashSet;

use common::*;
use mpass::admin::AdminCommand;
use mpass_client::{Client, RawResponse};
use mpass_domain::ids::PassId;
use mpass_domain::pass::{ReasonCode, TrustList, VerdictColour, VerifyOptions, verify_pass};
use mpass_domain::phone::Phone;
use reqwest::Method;

/// Submits the default application as `me`, waits for its approval and returns the pass id.
async fn approved_pass(me: &Client) -> String {
    let submitted = me.submit(&default_application(), None).await.expect("202");
    let app = me.wait_decided(&submitted.id, DECIDE_TIMEOUT).await.expect("decided");
    assert_eq!(app.status, "approved", "{app:?}");
    app.pass_id.expect("a pass")
}

/// Grants `role` to the user of `phone` and answers a client with a fresh token carrying it.
async fn staff(srv: &TestServer, n: u32, role: &str) -> Client {
    let (_, tokens) = srv.citizen(&phone(n)).await;
    mpass::admin::run(
        srv.settings.clone(),
        AdminCommand::Grant {
            phone: phone(n),
            role: role.into(),
            districts: Vec::new(),
            count: 1,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("grant {role}: {e:?}"));
    let fresh = srv.client.refresh(&tokens.refresh_token).await.expect("refresh");
    srv.as_user(&fresh.access_token)
}

async fn revoke(as_who: &Client, pass_id: &str, body: &str) -> RawResponse {
    as_who
        .raw(
            Method::POST,
            &format!("/api/v1/passes/{pass_id}/revoke"),
            Some("application/json"),
            body.as_bytes().to_vec(),
        )
        .await
        .expect("raw request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_supervisors_revoke_verifiers_and_holders_learn_of_it() {
    let srv = TestServer::start().await;
    let (holder, _) = srv.citizen(&phone(40)).await;
    let pass_id = approved_pass(&holder).await;
    let (other_holder, _) = srv.citizen(&phone(44)).await;
    let other_pass = approved_pass(&other_holder).await;
    let admin = staff(&srv, 41, "admin").await;
    let police = staff(&srv, 42, "police").await;
    let supervisor = staff(&srv, 43, "police_supervisor").await;
    let reason = r#"{"reason": "Forged documents / জাল কাগজপত্র"}"#;

    // Nobody else may revoke, not even the holder; the pass is untouched by their attempts.
    assert_problem(&revoke(&holder, &pass_id, reason).await, 403, "forbidden");
    assert_problem(&revoke(&police, &pass_id, reason).await, 403, "forbidden");
    assert_problem(&revoke(&srv.client, &pass_id, reason).await, 401, "unauthorized");
    assert_eq!(holder.pass(&pass_id).await.expect("pass").status, "not_yet_valid");

    // Unknown and malformed ids, bad reasons and bad bodies.
    let unknown = "01890000-0000-7000-8000-000000000000";
    assert_problem(&revoke(&admin, unknown, reason).await, 404, "not_found");
    assert_problem(&revoke(&admin, "not-an-id", reason).await, 404, "not_found");
    for bad in [
        r#"{"reason": ""}"#.to_string(),
        r#"{"reason": "   "}"#.to_string(),
        format!(r#"{{"reason": "{}"}}"#, "x".repeat(201)),
    ] {
        let res = revoke(&admin, &pass_id, &bad).await;
        let problem = assert_problem(&res, 422, "validation_failed");
        let body = res.json().expect("json");
        assert_eq!(body["errors"][0]["field"], "reason", "{problem:?}");
    }
    assert_problem(
        &revoke(&admin, &pass_id, r#"{"reason": "x", "extra": 1}"#).await,
        400,
        "invalid_json",
    );
    assert_problem(&revoke(&admin, &pass_id, "{}").await, 400, "invalid_json");
    assert_eq!(srv.client.revocations(0).await.expect("revocations").revoked.len(), 0);

    // The admin revokes.
    let res = revoke(&admin, &pass_id, reason).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json().expect("json");
    assert_eq!(body["pass_id"], pass_id.as_str());
    assert_eq!(body["status"], "revoked");
    assert!(body["revoked_at"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert_eq!(holder.pass(&pass_id).await.expect("pass").status, "revoked");

    // Again: 409, for the admin and the supervisor alike.
    assert_problem(&revoke(&admin, &pass_id, reason).await, 409, "already_revoked");
    assert_problem(&revoke(&supervisor, &pass_id, reason).await, 409, "already_revoked");

    // A police supervisor may revoke too.
    let res = revoke(&supervisor, &other_pass, r#"{"reason": "Reported stolen"}"#).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));

    // Verifiers: the revocation list names both passes, and an offline check is red.
    let list = srv.client.revocations(0).await.expect("revocations");
    let listed: Vec<&str> = list.revoked.iter().map(|r| r.pass_id.as_str()).collect();
    assert_eq!(listed, [pass_id.as_str(), other_pass.as_str()]);
    assert_eq!(list.revoked[0].revoked_at, body["revoked_at"].as_str().unwrap());
    let revoked: HashSet<[u8; 16]> = list
        .revoked
        .iter()
        .map(|r| *PassId::parse(&r.pass_id).expect("pass id").as_bytes())
        .collect();
    let trust = TrustList::from_jwks_json(&srv.client.trust_list().await.expect("trust list").to_string())
        .expect("a valid trust list");
    let pass = holder.pass(&pass_id).await.expect("pass");
    let during = (tomorrow_at(10, 30)).unix_timestamp();
    let opts = VerifyOptions {
        revocation_list_age_secs: Some(0),
        ..VerifyOptions::default()
    };
    let v = verify_pass(&pass.qr_text, &trust, &|id| revoked.contains(id), during, &opts);
    assert_eq!(v.result, VerdictColour::Red, "{v:?}");
    assert!(v.reasons.contains(&ReasonCode::Revoked), "{v:?}");
    assert_eq!(
        verify_pass(&pass.qr_text, &trust, &|_| false, during, &opts).result,
        VerdictColour::Green,
        "the same pass without the list is green: the list is what makes it red"
    );

    // The holder is told by SMS, in Bangla (they never chose a language), with the reason.
    let to = Phone::parse(&phone(40)).expect("phone").as_str().to_string();
    let code = pass.short_code.clone();
    let sms = eventually("the revocation SMS", DECIDE_TIMEOUT, || async {
        let outbox = srv.client.dev_outbox().await.ok()?;
        outbox
            .messages
            .into_iter()
            .find(|m| m.to == to && m.body.contains("বাতিল") && m.body.contains(&code))
    })
    .await;
    assert!(sms.body.contains("Forged documents"), "{}", sms.body);
    assert!(!sms.body.contains("revoked"), "one language per message: {}", sms.body);

    // Audited with the admin as actor, and the chain verifies.
    let admin_id = admin.me().await.expect("me").id;
    let audit = admin
        .raw(Method::GET, "/api/v1/audit?limit=1000", None, Vec::new())
        .await
        .expect("audit");
    assert_eq!(audit.status, 200);
    let items = audit.json().expect("json")["items"].as_array().expect("items").clone();
    let revocations: Vec<_> = items.iter().filter(|e| e["action"] == "pass.revoked").collect();
    assert_eq!(revocations.len(), 2, "{items:?}");
    assert_eq!(revocations[0]["actor"], admin_id.as_str());
    assert_eq!(revocations[0]["subject"], format!("pass:{pass_id}"));
    assert_eq!(revocations[0]["data"]["reason"], "Forged documents / জাল কাগজপত্র");
    assert_eq!(revocations[0]["data"]["application_id"], pass.application_id.as_str());
    let store = mpass::serve::open_store(&srv.settings).await.expect("open store");
    let verdict = mpass::audit::verify(store.as_ref()).await.expect("read the chain");
    assert!(verdict.is_ok(), "{verdict:?}");
    srv.finish().await;
}
