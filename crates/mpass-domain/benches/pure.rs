//! Benchmarks of the pure parts (issue 8, point 3): pass signing, offline verification,
//! policy evaluation and the CBOR / Base45 codec.
//!
//! `cargo bench -p mpass-domain --bench pure` (divan; one thread per benchmark, so a
//! figure is per core). SPEC §16 asks for ≥ 15,000 offline verifications per second per
//! core: `verify_offline` must stay under about 66 µs.

use std::hint::black_box;

use mpass_domain::pass::{
    ParsedPass, PassClaims, PassSigningKey, TEXT_PREFIX, TrustList, TrustedKey, VerdictColour, VerifyOptions, base45,
    cbor, cbor_decode, sign_pass, verify_pass,
};
use mpass_domain::policy::{Policy, PolicyFacts, PolicyInput};
use time::macros::datetime;

fn main() {
    divan::main();
}

fn key() -> PassSigningKey {
    PassSigningKey::from_bytes(&[0xa1; 32])
}

/// A typical pass: a 39-byte Bangla name, no vehicle, a round trip.
fn claims() -> PassClaims {
    PassClaims {
        issuer: "mpass".into(),
        pass_id: [
            0x01, 0x93, 0x2a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07,
        ],
        issued_at: 1_767_225_600,
        not_before: 1_767_225_600,
        expires: 1_767_312_000,
        holder_name: "মো. রহিম উদ্দিন".into(),
        document_last4: "4821".into(),
        birth_year: 1986,
        reason: "essential_work".into(),
        from_area: 2003_0004,
        to_area: 3026_0011,
        round_trip: true,
        vehicle_registration: None,
        companions: 0,
    }
}

fn qr_text() -> String {
    sign_pass(&claims(), &key()).expect("a valid pass signs")
}

/// The COSE_Sign1 bytes inside the QR text.
fn cose_bytes() -> Vec<u8> {
    base45::decode(&qr_text()[TEXT_PREFIX.len()..]).expect("valid Base45")
}

#[divan::bench]
fn sign(bencher: divan::Bencher) {
    let (claims, key) = (claims(), key());
    bencher.bench_local(|| sign_pass(black_box(&claims), &key).expect("signs"));
}

#[divan::bench]
fn verify_offline(bencher: divan::Bencher) {
    let text = qr_text();
    let trust = TrustList {
        keys: vec![TrustedKey::new(key().verifying_key(), 0, None)],
    };
    let opts = VerifyOptions {
        revocation_list_age_secs: Some(60),
        ..VerifyOptions::default()
    };
    let now = claims().not_before + 3600;
    let never = |_: &[u8; 16]| false;
    // Checked once outside the loop, so the benchmark cannot measure a rejection.
    let v = verify_pass(&text, &trust, &never, now, &opts);
    assert!(v.claims.is_some() && v.result == VerdictColour::Green, "{v:?}");
    bencher.bench_local(|| verify_pass(black_box(&text), &trust, &never, now, &opts));
}

#[divan::bench]
fn policy_evaluate(bencher: divan::Bencher) {
    let policy = Policy::default_policy();
    let input = PolicyInput {
        reason: "medical".into(),
        from_area: "30260014".into(),
        to_area: "30262000".into(),
        start: datetime!(2026-01-02 10:00 +06:00),
        duration_hours: 2,
        companions: 1,
        has_vehicle: false,
    };
    let facts = PolicyFacts {
        now: datetime!(2026-01-01 18:00 +06:00),
        overlapping_approved: false,
        passes_in_window: 1,
        document_on_other_phone: false,
        vehicle_overlapping_approved: false,
        applications_last_day: 0,
    };
    bencher.bench_local(|| policy.evaluate(black_box(&input), black_box(&facts)));
}

/// What an online check decodes of the scanned text before the store's read: Base45, the
/// COSE envelope and the claims, without the Ed25519 check (a text byte for byte the one
/// the server issued needs none).
#[divan::bench]
fn parse_pass(bencher: divan::Bencher) {
    let text = qr_text();
    bencher.bench_local(|| ParsedPass::parse(black_box(&text)).expect("valid pass"));
}

#[divan::bench]
fn cbor_decode_pass(bencher: divan::Bencher) {
    let bytes = cose_bytes();
    bencher.bench_local(|| cbor_decode::decode_ref(black_box(&bytes)).expect("valid CBOR"));
}

#[divan::bench]
fn cbor_encode_pass(bencher: divan::Bencher) {
    let value = cbor_decode::decode(&cose_bytes()).expect("valid CBOR");
    bencher.bench_local(|| cbor::encode(black_box(&value)));
}

#[divan::bench]
fn base45_encode_pass(bencher: divan::Bencher) {
    let bytes = cose_bytes();
    bencher.bench_local(|| base45::encode(black_box(&bytes)));
}

#[divan::bench]
fn base45_decode_pass(bencher: divan::Bencher) {
    let text = qr_text()[TEXT_PREFIX.len()..].to_string();
    bencher.bench_local(|| base45::decode(black_box(&text)).expect("valid Base45"));
}

/// Positions spread over Bangladesh, the same for both `nearest_thana` benchmarks.
fn positions() -> Vec<(f64, f64)> {
    (0..64)
        .map(|i| (21.0 + f64::from(i % 8) * 0.7, 88.2 + f64::from(i / 8) * 0.55))
        .collect()
}

/// The thana an online check with a position is counted in (`checkpoint::nearest_thana`,
/// through its grid), per position.
#[divan::bench]
fn nearest_thana(bencher: divan::Bencher) {
    let positions = positions();
    let _ = mpass_domain::checkpoint::nearest_thana(23.7, 90.4);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % positions.len();
        let (lat, lon) = positions[i];
        mpass_domain::checkpoint::nearest_thana(black_box(lat), black_box(lon))
    });
}

/// The baseline of `nearest_thana`: the dot product with every thana's unit vector (what
/// it did before its grid), in the same run.
#[divan::bench]
fn nearest_thana_every_thana(bencher: divan::Bencher) {
    use mpass_domain::geo::{self, AreaKind};
    let unit = |lat: f64, lon: f64| {
        let (p, l) = (f64::to_radians(lat), f64::to_radians(lon));
        [p.cos() * l.cos(), p.cos() * l.sin(), p.sin()]
    };
    let thanas: Vec<([f64; 3], &geo::Area)> = geo::areas()
        .all()
        .iter()
        .filter(|a| a.kind == AreaKind::Thana)
        .map(|a| (unit(a.lat, a.lon), a))
        .collect();
    let positions = positions();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % positions.len();
        let (lat, lon) = positions[i];
        let q = unit(black_box(lat), black_box(lon));
        thanas
            .iter()
            .map(|(v, a)| (v[0] * q[0] + v[1] * q[1] + v[2] * q[2], *a))
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(_, a)| a)
    });
}
