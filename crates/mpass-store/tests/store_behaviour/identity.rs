//! Stories: users and roles, one-time codes, refresh tokens, profiles.

use std::collections::HashSet;
use std::sync::Arc;

use mpass_domain::audit::Actor;
use mpass_domain::ids::UserId;
use mpass_domain::otp::CODE_TTL_SECS;
use mpass_domain::ports::*;

use super::fixtures::*;

pub(crate) async fn users_and_roles(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let p = phone(1);
    let u = store.user_by_phone_or_create(&p, t(0)).await.unwrap();
    assert_eq!(u.phone, p);
    assert!(u.grants.is_empty());
    assert_eq!(u.role_names(), vec!["citizen".to_string()]);
    assert_eq!(store.user_by_phone_or_create(&p, t(1)).await.unwrap().id, u.id);
    assert_eq!(store.user(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(store.user_by_phone(&p).await.unwrap(), Some(u.clone()));
    assert_eq!(store.user(UserId::new()).await.unwrap(), None);
    assert_eq!(store.user_by_phone(&phone(2)).await.unwrap(), None);

    let grant = |role, districts: &[&str]| RoleGrant {
        role,
        districts: districts.iter().map(|d| d.to_string()).collect(),
    };
    store
        .grant_role(u.id, grant(Role::Reviewer, &["dhaka"]), Actor::cli(), t(2))
        .await
        .unwrap();
    store
        .grant_role(u.id, grant(Role::Admin, &[]), Actor::cli(), t(2))
        .await
        .unwrap();
    // Granting a role again replaces its districts.
    store
        .grant_role(u.id, grant(Role::Reviewer, &["dhaka", "gazipur"]), Actor::cli(), t(3))
        .await
        .unwrap();
    let u = store.user(u.id).await.unwrap().unwrap();
    assert_eq!(
        u.grants,
        vec![grant(Role::Admin, &[]), grant(Role::Reviewer, &["dhaka", "gazipur"])]
    );
    assert_eq!(u.role_names(), vec!["citizen", "admin", "reviewer"]);
    assert_eq!(store.user_by_phone(&p).await.unwrap(), Some(u));

    // Concurrent first logins with one phone agree on one user.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.user_by_phone_or_create(&phone(7), t(i)).await.unwrap().id })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1);
}

pub(crate) async fn otp_send_limits(store: Arc<dyn Store>) {
    let p = phone(1);
    let issue = |at: i64| {
        let (store, p) = (store.clone(), p.clone());
        async move {
            store
                .otp_issue(&p, "hash", NewJob::sms(&p, "code"), None, t(at))
                .await
                .unwrap()
        }
    };
    assert_eq!(issue(0).await, Ok(()));
    assert_eq!(issue(10).await, Err(OtpSendRefused::RetryAfter(50)));
    for k in 1..5 {
        assert_eq!(issue(61 * k).await, Ok(()), "send {k}");
    }
    // Five sends in the rolling hour: the next is allowed when the oldest ages out.
    assert_eq!(issue(305).await, Err(OtpSendRefused::RetryAfter(3600 - 305)));
    assert_eq!(issue(3601).await, Ok(()));
    // Each accepted send enqueued its SMS; refusals enqueued nothing.
    assert_eq!(store.jobs_depth().await.unwrap(), (6, 0));
    let jobs = drain_jobs(&store, t(4000)).await;
    assert!(jobs.iter().all(|j| j.kind == JOB_SEND_SMS));
}

pub(crate) async fn otp_concurrent_sends_one_phone(store: Arc<dyn Store>) {
    // Round 0 races on a phone never seen; the later ones on a phone with a live code,
    // over warm pooled connections.
    let p = phone(20);
    for round in 0..5 {
        let p = p.clone();
        let gate = Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (store, p, gate) = (store.clone(), p.clone(), gate.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    store
                        .otp_issue(&p, &format!("hash-{i}"), NewJob::sms(&p, "code"), None, t(61 * round))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut sent = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => sent += 1,
                Err(OtpSendRefused::RetryAfter(s)) => assert_eq!(s, 60),
            }
        }
        assert_eq!(sent, 1, "exactly one of the racing sends goes out");
    }
    assert_eq!(store.jobs_depth().await.unwrap(), (5, 0));
}

pub(crate) async fn otp_sends_counted_by_address(store: Arc<dyn Store>) {
    let from = |address: &str, max_per_minute| OtpOrigin {
        address: address.to_string(),
        max_per_minute,
    };
    let (home, other) = (from("192.0.2.7", 3), from("192.0.2.8", 3));
    let send = |n: u32, origin: Option<OtpOrigin>, at: i64| {
        let store = store.clone();
        async move {
            let p = phone(300 + n);
            store
                .otp_issue(&p, "h", NewJob::sms(&p, "code"), origin.as_ref(), t(at))
                .await
                .unwrap()
        }
    };
    // t(20) starts a minute (of the epoch's). Three phones from one address in it; the
    // fourth is not recorded (nor its SMS queued) and waits until a third of the next
    // minute, when a third of these three has faded from the last 60 seconds.
    for (n, at) in [(1, 20), (2, 30), (3, 40)] {
        send(n, Some(home.clone()), at).await.unwrap();
    }
    assert_eq!(
        send(4, Some(home.clone()), 50).await,
        Err(OtpSendRefused::RetryAfter(50))
    );
    assert_eq!(store.jobs_depth().await.unwrap(), (3, 0));
    // Another address is counted apart; a lower limit for the same address is reached.
    send(5, Some(other.clone()), 50).await.unwrap();
    assert_eq!(
        send(6, Some(from("192.0.2.7", 2)), 50).await,
        Err(OtpSendRefused::RetryAfter(70))
    );
    // The next minute: the last one's three count in full at its start, then fade, one
    // more a third of the way in and another two thirds of the way in. Not twice the
    // limit across the boundary, as fixed minutes alone would allow.
    assert_eq!(
        send(7, Some(home.clone()), 80).await,
        Err(OtpSendRefused::RetryAfter(20))
    );
    send(7, Some(home.clone()), 100).await.unwrap();
    assert_eq!(
        send(8, Some(home.clone()), 101).await,
        Err(OtpSendRefused::RetryAfter(19))
    );
    send(8, Some(home.clone()), 120).await.unwrap();
    assert_eq!(
        send(9, Some(home.clone()), 121).await,
        Err(OtpSendRefused::RetryAfter(19))
    );
    // A send without an origin counts for no address.
    send(10, None, 121).await.unwrap();
    assert_eq!(store.jobs_depth().await.unwrap(), (7, 0));

    // Twelve phones at once from a fresh address that may ask for five: exactly five go.
    let gate = Arc::new(tokio::sync::Barrier::new(12));
    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let (store, gate) = (store.clone(), gate.clone());
            tokio::spawn(async move {
                let p = phone(400 + n);
                gate.wait().await;
                store
                    .otp_issue(&p, "h", NewJob::sms(&p, "code"), Some(&from("198.51.100.1", 5)), t(210))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            sent += 1;
        }
    }
    assert_eq!(sent, 5, "the address's limit holds for concurrent sends");
}

pub(crate) async fn otp_attempts_and_consumption(store: Arc<dyn Store>) {
    let p = phone(1);
    let sms = || NewJob::sms(&p, "code");
    assert_eq!(
        store.otp_check(&p, "never-sent", t(0)).await.unwrap(),
        OtpCheck::Invalid
    );

    store
        .otp_issue(&p, "right-1", sms(), None, t(0))
        .await
        .unwrap()
        .unwrap();
    for _ in 0..4 {
        assert_eq!(store.otp_check(&p, "wrong", t(1)).await.unwrap(), OtpCheck::Invalid);
    }
    assert_eq!(store.otp_check(&p, "right-1", t(1)).await.unwrap(), OtpCheck::Valid);
    assert_eq!(
        store.otp_check(&p, "right-1", t(2)).await.unwrap(),
        OtpCheck::Invalid,
        "a code is consumed"
    );

    store
        .otp_issue(&p, "right-2", sms(), None, t(61))
        .await
        .unwrap()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(store.otp_check(&p, "wrong", t(62)).await.unwrap(), OtpCheck::Invalid);
    }
    assert_eq!(
        store.otp_check(&p, "right-2", t(62)).await.unwrap(),
        OtpCheck::Invalid,
        "burnt after five wrong attempts"
    );

    store
        .otp_issue(&p, "right-3", sms(), None, t(122))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.otp_check(&p, "right-3", t(122 + CODE_TTL_SECS)).await.unwrap(),
        OtpCheck::Invalid,
        "expired"
    );

    // A refused resend leaves the live code alone.
    let q = phone(2);
    store
        .otp_issue(&q, "live", NewJob::sms(&q, "c"), None, t(0))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .otp_issue(&q, "other", NewJob::sms(&q, "c"), None, t(5))
            .await
            .unwrap()
            .is_err()
    );
    assert_eq!(store.otp_check(&q, "other", t(6)).await.unwrap(), OtpCheck::Invalid);
    assert_eq!(store.otp_check(&q, "live", t(6)).await.unwrap(), OtpCheck::Valid);

    // Concurrent checks of one right code: exactly one consumes it.
    let r = phone(3);
    store
        .otp_issue(&r, "race", NewJob::sms(&r, "c"), None, t(0))
        .await
        .unwrap()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, r) = (store.clone(), r.clone());
            tokio::spawn(async move { store.otp_check(&r, "race", t(1)).await.unwrap() })
        })
        .collect();
    let mut valid = 0;
    for task in tasks {
        if task.await.unwrap() == OtpCheck::Valid {
            valid += 1;
        }
    }
    assert_eq!(valid, 1);
}

pub(crate) async fn refresh_rotation_reuse_and_logout(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let far = t(100_000);
    store.refresh_create("r1", u.id, far).await.unwrap();
    assert_eq!(store.refresh_rotate("r1", "r2", t(1), far).await.unwrap(), Some(u.id));
    assert_eq!(store.refresh_rotate("r2", "r3", t(2), far).await.unwrap(), Some(u.id));
    // r1 was already rotated: reuse means theft; the whole family ends.
    assert_eq!(store.refresh_rotate("r1", "rx", t(3), far).await.unwrap(), None);
    assert_eq!(store.refresh_rotate("r3", "r4", t(4), far).await.unwrap(), None);

    // Logout with any token of the family ends it.
    store.refresh_create("s1", u.id, far).await.unwrap();
    assert!(store.refresh_rotate("s1", "s2", t(5), far).await.unwrap().is_some());
    store.refresh_revoke("s1", t(6)).await.unwrap();
    assert_eq!(store.refresh_rotate("s2", "s3", t(7), far).await.unwrap(), None);

    // Logout everywhere.
    store.refresh_create("u1", u.id, far).await.unwrap();
    store.refresh_create("v1", u.id, far).await.unwrap();
    store.refresh_revoke_user(u.id, t(8)).await.unwrap();
    assert_eq!(store.refresh_rotate("u1", "u2", t(9), far).await.unwrap(), None);
    assert_eq!(store.refresh_rotate("v1", "v2", t(9), far).await.unwrap(), None);

    // Expired and unknown tokens.
    store.refresh_create("e1", u.id, t(10)).await.unwrap();
    assert_eq!(store.refresh_rotate("e1", "e2", t(10), far).await.unwrap(), None);
    assert_eq!(store.refresh_rotate("nope", "n2", t(10), far).await.unwrap(), None);

    // Another user's tokens are untouched by all of this.
    let v = user(&store, 2).await;
    store.refresh_create("w1", v.id, far).await.unwrap();
    store.refresh_revoke_user(u.id, t(11)).await.unwrap();
    assert_eq!(store.refresh_rotate("w1", "w2", t(12), far).await.unwrap(), Some(v.id));

    // Two concurrent uses of one token: one rotates, the other is reuse and ends the family.
    store.refresh_create("c1", u.id, far).await.unwrap();
    let tasks: Vec<_> = ["c2a", "c2b"]
        .into_iter()
        .map(|new| {
            let store = store.clone();
            tokio::spawn(async move { (new, store.refresh_rotate("c1", new, t(20), far).await.unwrap()) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let (new, Some(_)) = task.await.unwrap() {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.refresh_rotate(winners[0], "c3", t(21), far).await.unwrap(), None);
}

pub(crate) async fn profile_photo_and_document_fact(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, 1).await, user(&store, 2).await);
    assert_eq!(store.profile(a.id).await.unwrap(), None);
    assert!(
        store.set_photo(a.id, "photos/a", "image/jpeg", t(1)).await.is_err(),
        "a photo needs a profile"
    );
    let pa = profile("Rahima Begum", "1234567890");
    store.put_profile(a.id, &pa, t(1)).await.unwrap();
    assert_eq!(
        store.profile(a.id).await.unwrap(),
        Some(StoredProfile {
            profile: pa.clone(),
            photo_key: None,
            photo_content_type: None
        })
    );
    store.set_photo(a.id, "photos/a", "image/jpeg", t(2)).await.unwrap();
    let pa2 = profile("Rahima Khatun", "1234567890");
    store.put_profile(a.id, &pa2, t(3)).await.unwrap();
    assert_eq!(
        store.profile(a.id).await.unwrap(),
        Some(StoredProfile {
            profile: pa2,
            photo_key: Some("photos/a".into()),
            photo_content_type: Some("image/jpeg".into()),
        }),
        "updating the profile keeps the photo"
    );

    let app = submit(&store, a.id, t(10), t(3600)).await;
    let facts = store.applicant_facts(&app, t(0)).await.unwrap();
    assert!(!facts.document_on_other_phone);
    store
        .put_profile(b.id, &profile("Other", "9999999999"), t(11))
        .await
        .unwrap();
    assert!(!store.applicant_facts(&app, t(0)).await.unwrap().document_on_other_phone);
    store
        .put_profile(b.id, &profile("Other", "1234567890"), t(12))
        .await
        .unwrap();
    assert!(store.applicant_facts(&app, t(0)).await.unwrap().document_on_other_phone);
}
