//! Stories: the legacy `/v1` API's records — one use per upload name, one registration
//! per user, a daily allowance of login attempts per phone.

use std::sync::Arc;

use mpass_domain::ids::UserId;
use mpass_domain::legacy::LegacyRegistration;
use mpass_domain::ports::*;

use super::fixtures::*;

pub(crate) async fn legacy_upload_names_are_used_once(store: Arc<dyn Store>) {
    assert!(store.legacy_upload_use("a.png", t(0)).await.unwrap());
    assert!(
        !store.legacy_upload_use("a.png", t(1)).await.unwrap(),
        "second use refused"
    );
    assert!(store.legacy_upload_use("b.png", t(1)).await.unwrap());
    // Racing uses of one name: exactly one wins.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.legacy_upload_use("race.jpg", t(i)).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

pub(crate) async fn legacy_registration_is_kept_once(store: Arc<dyn Store>) {
    let u = store.user_by_phone_or_create(&phone(41), t(0)).await.unwrap();
    assert_eq!(store.legacy_registration(u.id).await.unwrap(), None);
    let reg = LegacyRegistration {
        district: 1047,
        thana: 10309,
        photo_url: "https://mpass.example/v1/uploads/0123456789abcdef0123456789abcdef.png".into(),
    };
    assert!(store.legacy_registration_put(u.id, &reg, t(1)).await.unwrap());
    let other = LegacyRegistration {
        district: 1001,
        thana: 10001,
        photo_url: "https://mpass.example/v1/uploads/x.png".into(),
    };
    assert!(!store.legacy_registration_put(u.id, &other, t(2)).await.unwrap());
    assert_eq!(store.legacy_registration(u.id).await.unwrap(), Some(reg));
    assert_eq!(store.legacy_registration(UserId::new()).await.unwrap(), None);
}

pub(crate) async fn legacy_login_attempts_counted_by_phone_and_day(store: Arc<dyn Store>) {
    let (me, other) = (phone(42), phone(43));
    let day = 20_000;
    // Three attempts in a day; the fourth is refused and counts nothing.
    for _ in 0..3 {
        assert!(store.legacy_login_attempt(&me, day, 3).await.unwrap());
    }
    assert!(!store.legacy_login_attempt(&me, day, 3).await.unwrap());
    // Another phone is counted apart; a higher limit lets one more in.
    assert!(store.legacy_login_attempt(&other, day, 3).await.unwrap());
    assert!(store.legacy_login_attempt(&me, day, 4).await.unwrap());
    assert!(!store.legacy_login_attempt(&me, day, 4).await.unwrap());
    // A success is given back: one more attempt, then refused again.
    store.legacy_login_refund(&me, day).await.unwrap();
    assert!(store.legacy_login_attempt(&me, day, 4).await.unwrap());
    assert!(!store.legacy_login_attempt(&me, day, 4).await.unwrap());
    // A refund with nothing counted (another day) changes nothing, and never goes below
    // zero: the next day counts afresh from one.
    store.legacy_login_refund(&me, day + 1).await.unwrap();
    for _ in 0..2 {
        assert!(store.legacy_login_attempt(&me, day + 1, 2).await.unwrap());
    }
    assert!(!store.legacy_login_attempt(&me, day + 1, 2).await.unwrap());

    // Twelve guesses at once for a fresh phone that may have five: exactly five are counted.
    let gate = Arc::new(tokio::sync::Barrier::new(12));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (store, gate) = (store.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                store.legacy_login_attempt(&phone(44), day + 1, 5).await.unwrap()
            })
        })
        .collect();
    let mut counted = 0;
    for task in tasks {
        counted += usize::from(task.await.unwrap());
    }
    assert_eq!(counted, 5, "the phone's allowance holds for concurrent attempts");
}
