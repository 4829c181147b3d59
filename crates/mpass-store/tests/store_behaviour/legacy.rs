//! Stories: the legacy `/v1` API's records — one use per upload name, one registration
//! per user.

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
