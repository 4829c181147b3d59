//! One citizen's submissions are limited per hour: a script with a citizen's token cannot
//! flood the store and the decision queue; replays of a submission do not count.

use reqwest::Method;

use crate::common::*;
use crate::{JSON, body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_may_submit_only_so_many_applications_an_hour() {
    let mut srv = TestServer::start_with(|s| s.submissions_per_citizen_per_hour = 3).await;
    let (citizen, _) = srv.citizen(&phone(180)).await;
    let first = citizen
        .submit(&default_application(), Some("limit-0"))
        .await
        .expect("first");
    // A replay is answered with the first result and does not count...
    let replay = citizen
        .submit(&default_application(), Some("limit-0"))
        .await
        .expect("replay");
    assert_eq!(replay.id, first.id);
    for i in 1..3 {
        let app = application(THANA_A, THANA_B, tomorrow_at(10 + i, 0));
        citizen
            .submit(&app, Some(&format!("limit-{i}")))
            .await
            .expect("within the limit");
    }
    // ...a fourth new one is refused, with when to come back: when the first is an hour
    // old. The store counts, so a restart does not hand out a fresh allowance.
    let fourth = body(&serde_json::to_value(application(THANA_A, THANA_B, tomorrow_at(15, 0))).expect("json"));
    for restarted in [false, true] {
        if restarted {
            srv.restart().await;
        }
        let citizen = citizen.on(srv.client.base());
        let res = citizen
            .raw(Method::POST, "/api/v1/applications", JSON, fourth.clone())
            .await
            .expect("raw");
        let p = assert_problem(&res, 429, "rate_limited");
        assert!(p.retry_after.is_some_and(|s| (3500..=3600).contains(&s)), "{p:?}");
        assert!(res.headers.contains_key("retry-after"));
        let page = citizen.applications(None, Some(50)).await.expect("list");
        assert_eq!(page.items.len(), 3, "nothing stored for the refused one");
    }
    // Another citizen is not held back.
    let (other, _) = srv.citizen(&phone(181)).await;
    other
        .submit(&default_application(), None)
        .await
        .expect("another citizen");
    srv.finish().await;
}
