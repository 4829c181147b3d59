//! Stories: the job table (leases, retries, dead letters, depth) and concurrent leasing.

use std::collections::HashSet;
use std::sync::Arc;

use mpass_domain::ports::*;

use super::fixtures::*;

pub(crate) async fn jobs_lease_retry_dead_depth(store: Arc<dyn Store>) {
    assert_eq!(store.jobs_depth().await.unwrap(), (0, 0));
    assert!(store.jobs_lease(10, t(0), 30).await.unwrap().is_empty());
    for n in 1..=3 {
        let p = phone(n);
        store
            .otp_issue(&p, "h", NewJob::sms(&p, "code"), None, t(0))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(store.jobs_depth().await.unwrap(), (3, 0));
    // Not due before its run time.
    assert!(store.jobs_lease(10, t(-1), 30).await.unwrap().is_empty());

    let first = store.jobs_lease(2, t(0), 30).await.unwrap();
    assert_eq!(first.len(), 2, "at most max");
    assert!(first.iter().all(|j| j.attempts == 1 && j.kind == JOB_SEND_SMS));
    let third = store.jobs_lease(10, t(1), 30).await.unwrap();
    assert_eq!(third.len(), 1);
    assert!(store.jobs_lease(10, t(2), 30).await.unwrap().is_empty(), "all leased");
    let (ja, jb, jc) = (first[0].clone(), first[1].clone(), third[0].clone());

    store.job_done(jb.id).await.unwrap();
    store.job_retry(ja.id, t(100), "boom").await.unwrap();
    assert_eq!(store.jobs_depth().await.unwrap(), (2, 0));
    assert!(store.jobs_lease(10, t(20), 30).await.unwrap().is_empty());
    // jc's lease ran out without an answer: it is delivered again.
    let again = store.jobs_lease(10, t(40), 300).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (jc.id, 2));
    let retried = store.jobs_lease(10, t(100), 30).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (ja.id, 2));
    assert_eq!(retried[0].payload, ja.payload);

    store.job_dead(ja.id, "gave up", t(101)).await.unwrap();
    assert_eq!(store.jobs_depth().await.unwrap(), (1, 1));
    store.job_done(jc.id).await.unwrap();
    assert_eq!(store.jobs_depth().await.unwrap(), (0, 1));
    assert!(store.jobs_lease(10, t(1000), 30).await.unwrap().is_empty());
}

/// Login codes are leased before older jobs of every other kind, and the rest oldest first.
pub(crate) async fn login_codes_are_leased_first(store: Arc<dyn Store>) {
    let sms = |n: u32| {
        let p = phone(n);
        (p.clone(), NewJob::sms(&p, "older"))
    };
    for n in 1..=4 {
        let (p, job) = sms(n);
        store
            .otp_issue(&p, "h", job, None, t(i64::from(n)))
            .await
            .unwrap()
            .unwrap();
    }
    let p = phone(9);
    let login = NewJob::login_code(&p, "code");
    store
        .otp_issue(&p, "h", login.clone(), None, t(10))
        .await
        .unwrap()
        .unwrap();
    let first = store.jobs_lease(3, t(20), 30).await.unwrap();
    let kinds: Vec<&str> = first.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, [JOB_SEND_LOGIN_CODE, JOB_SEND_SMS, JOB_SEND_SMS]);
    assert_eq!(first[0].payload, login.payload);
    let rest = store.jobs_lease(10, t(21), 30).await.unwrap();
    assert_eq!(rest.len(), 2, "the two oldest went first, once each");
    assert!(rest.iter().all(|j| j.kind == JOB_SEND_SMS));
    let all: HashSet<_> = first.iter().chain(&rest).map(|j| j.id).collect();
    assert_eq!(all.len(), 5);
}

pub(crate) async fn concurrent_leases_never_share_a_job(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    const JOBS: usize = 60;
    for i in 0..JOBS {
        submit(&store, u.id, t(i as i64), t(3600)).await;
    }
    let now = t(JOBS as i64 + 1);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.jobs_lease(3, now, 60).await.unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    mine.extend(batch.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job was leased twice");
    assert_eq!(all.len(), JOBS, "every job leased");
}
