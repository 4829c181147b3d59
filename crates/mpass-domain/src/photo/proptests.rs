//! Property tests of the photo sanitiser: no input makes it panic, and what it accepts
//! it accepts again unchanged.

use super::tests::{JPEG, JPEG_PROGRESSIVE, fix_crcs, small_png};
use super::*;
use proptest::prelude::*;

/// A valid image of each kind, for mutation.
fn base_image() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(small_png()), Just(JPEG.to_vec()), Just(JPEG_PROGRESSIVE.to_vec())]
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, x) => {
            let i = i % bytes.len();
            bytes[i] ^= x;
        }
        Mutation::Truncate(i) => bytes.truncate(i % bytes.len()),
        Mutation::Insert(i, b) => {
            let i = i % bytes.len();
            bytes.splice(i..i, b.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = i % bytes.len();
            bytes.drain(i..(i + n).min(bytes.len()));
        }
    }
}

/// Whatever comes out is itself accepted unchanged, and never grows.
fn check_output(input: &[u8], result: Result<Photo, PhotoError>) -> Result<(), TestCaseError> {
    if let Ok(photo) = result {
        prop_assert!(photo.bytes.len() <= input.len());
        prop_assert_eq!(sanitize_photo(&photo.bytes), Ok(photo));
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop_oneof![Just(vec![]), Just(vec![0xFF, 0xD8]), Just(small_png()[..8].to_vec())],
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let input = [prefix, bytes].concat();
        let result = sanitize_photo(&input);
        check_output(&input, result)?;
    }

    #[test]
    fn mutated_images_never_panic(
        base in base_image(),
        mutations in proptest::collection::vec(mutation(), 1..6),
        fix in any::<bool>(),
    ) {
        let mut input = base;
        mutations.iter().for_each(|m| apply(&mut input, m));
        if fix && input.starts_with(b"\x89PNG") {
            // Valid checksums let damaged image data reach the decoder.
            fix_crcs(&mut input);
        }
        let result = sanitize_photo(&input);
        check_output(&input, result)?;
    }
}
