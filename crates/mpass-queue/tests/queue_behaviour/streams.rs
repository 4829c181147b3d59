//! NATS only: nodes creating the streams at once, and a real stream conflict still reported.

use async_nats::jetstream;
use mpass_domain::ids::JobId;
use mpass_queue::nats::NatsQueue;

use crate::{FAST, TempDir, nats_options, new_store};

/// Nodes that start together on a new prefix (an API node and a worker started at once,
/// say) all connect, though each tries to create the same streams at the same moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_on_a_new_prefix_all_connect() {
    let Ok(url) = std::env::var("MPASS_TEST_NATS_URL") else {
        println!("skipped: MPASS_TEST_NATS_URL not set");
        return;
    };
    let dir = TempDir::new();
    let store = new_store(&dir);
    let js = jetstream::new(async_nats::connect(&url).await.expect("test NATS client"));
    for _ in 0..5 {
        let prefix = format!("t{}", JobId::new().0.simple());
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let (url, prefix, store) = (url.clone(), prefix.clone(), store.clone());
                tokio::spawn(async move { NatsQueue::connect_with(&url, &prefix, store, nats_options(FAST)).await })
            })
            .collect();
        let mut results = Vec::new();
        for node in nodes {
            results.push(node.await.expect("node task"));
        }
        if let Some(Ok(q)) = results.iter().find(|r| r.is_ok()) {
            for s in q.stream_names() {
                let _ = js.delete_stream(&s).await;
            }
        }
        for r in results {
            if let Err(e) = r {
                panic!("a node starting with three others on prefix {prefix} failed: {e}");
            }
        }
    }
}

/// Retrying a refused stream creation does not hide a real conflict: a stream of another
/// name already holding a job kind's subjects still stops the node, with the broker's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_conflict_is_still_reported() {
    let Ok(url) = std::env::var("MPASS_TEST_NATS_URL") else {
        println!("skipped: MPASS_TEST_NATS_URL not set");
        return;
    };
    let dir = TempDir::new();
    let js = jetstream::new(async_nats::connect(&url).await.expect("test NATS client"));
    let prefix = format!("t{}", JobId::new().0.simple());
    let squatter = format!("SQUAT_{}", prefix.to_ascii_uppercase());
    js.create_stream(jetstream::stream::Config {
        name: squatter.clone(),
        subjects: vec![format!("{prefix}.jobs.>")],
        ..Default::default()
    })
    .await
    .expect("the conflicting stream");
    let outcome = NatsQueue::connect_with(&url, &prefix, new_store(&dir), nats_options(FAST)).await;
    let _ = js.delete_stream(&squatter).await;
    match outcome {
        Ok(q) => {
            for s in q.stream_names() {
                let _ = js.delete_stream(&s).await;
            }
            panic!("connected although another stream holds the job subjects");
        }
        Err(e) => assert!(
            e.to_string().contains("create job stream") && e.to_string().contains("overlap"),
            "{e}"
        ),
    }
}
