//! Strict CBOR decoder for hostile input (scanned QR codes).
//!
//! It accepts only what [`super::cbor::encode`] produces: shortest-form heads, definite
//! lengths, valid UTF-8 text, map keys in strictly increasing bytewise order (so no
//! duplicates), and no floats, simple values or trailing bytes. Input size and nesting
//! depth are capped, and every length is checked against the bytes that remain before
//! anything is allocated, so a 20-byte input cannot ask for gigabytes. It never panics.

use super::cbor::{
    MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP, MAJOR_NEGATIVE, MAJOR_TAG, MAJOR_TEXT, MAJOR_UNSIGNED, Value, impl_item,
    key_order,
};
use std::cmp::Ordering;

/// Largest input accepted by [`decode`]; a pass is under 300 bytes.
pub const MAX_INPUT: usize = 1024;
/// Deepest nesting accepted (a pass needs 4: tag, array, map, map).
pub const MAX_DEPTH: usize = 8;

/// Why a CBOR input was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input is larger than [`MAX_INPUT`].
    #[error("input too large")]
    TooLarge,
    /// The input ended inside an item.
    #[error("unexpected end of input")]
    Truncated,
    /// Bytes follow the top-level item.
    #[error("trailing bytes after item")]
    TrailingBytes,
    /// Items are nested deeper than [`MAX_DEPTH`].
    #[error("nesting too deep")]
    TooDeep,
    /// A head is not in its shortest form.
    #[error("non-shortest head")]
    NonCanonical,
    /// An indefinite-length item or a reserved additional-info value.
    #[error("indefinite length or reserved head")]
    Indefinite,
    /// A float or simple value (major type 7).
    #[error("float or simple value not allowed")]
    Unsupported,
    /// A text string is not valid UTF-8.
    #[error("invalid UTF-8 in text string")]
    InvalidUtf8,
    /// A map key appears twice.
    #[error("duplicate map key")]
    DuplicateKey,
    /// Map keys are not in deterministic order.
    #[error("map keys out of order")]
    UnsortedKeys,
}

/// A decoded item whose byte and text strings borrow from the input: reading a pass
/// copies only what it keeps (an online check reads one per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1; `Negative(n)` is the integer `-1 - n`.
    Negative(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<ValueRef<'a>>),
    /// Major type 5, in the input's (deterministic) order.
    Map(Vec<(ValueRef<'a>, ValueRef<'a>)>),
    /// Major type 6.
    Tag(u64, Box<ValueRef<'a>>),
}

impl_item!(ValueRef<'_>);

impl ValueRef<'_> {
    /// The same item, owning its strings.
    pub fn to_owned_value(&self) -> Value {
        match self {
            ValueRef::Unsigned(n) => Value::Unsigned(*n),
            ValueRef::Negative(n) => Value::Negative(*n),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Text(t) => Value::Text((*t).to_owned()),
            ValueRef::Array(items) => Value::Array(items.iter().map(ValueRef::to_owned_value).collect()),
            ValueRef::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_owned_value(), v.to_owned_value()))
                    .collect(),
            ),
            ValueRef::Tag(tag, item) => Value::Tag(*tag, Box::new(item.to_owned_value())),
        }
    }
}

/// Decodes exactly one item spanning all of `input`.
pub fn decode(input: &[u8]) -> Result<Value, CborError> {
    decode_ref(input).map(|v| v.to_owned_value())
}

/// [`decode`], borrowing the item's strings from `input`.
pub fn decode_ref(input: &[u8]) -> Result<ValueRef<'_>, CborError> {
    if input.len() > MAX_INPUT {
        return Err(CborError::TooLarge);
    }
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    if reader.pos != input.len() {
        return Err(CborError::TrailingBytes);
    }
    Ok(value)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.input.get(self.pos).ok_or(CborError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads a head, returning (major type, argument), rejecting non-shortest forms.
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if major == 7 {
            return Err(CborError::Unsupported);
        }
        let (arg, min) = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => (u64::from(self.byte()?), 24),
            25 => (u64::from(u16::from_be_bytes(self.array()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.array()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.array()?), 0x1_0000_0000),
            _ => return Err(CborError::Indefinite),
        };
        if arg < min {
            return Err(CborError::NonCanonical);
        }
        Ok((major, arg))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| CborError::Truncated)
    }

    /// A length that must fit in the remaining input, counting `per_item` bytes each.
    fn length(&self, arg: u64, per_item: usize) -> Result<usize, CborError> {
        let len = usize::try_from(arg).map_err(|_| CborError::Truncated)?;
        if len.checked_mul(per_item).is_none_or(|need| need > self.remaining()) {
            return Err(CborError::Truncated);
        }
        Ok(len)
    }

    fn item(&mut self, depth: usize) -> Result<ValueRef<'a>, CborError> {
        if depth >= MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let (major, arg) = self.head()?;
        match major {
            MAJOR_UNSIGNED => Ok(ValueRef::Unsigned(arg)),
            MAJOR_NEGATIVE => Ok(ValueRef::Negative(arg)),
            MAJOR_BYTES => {
                let len = self.length(arg, 1)?;
                Ok(ValueRef::Bytes(self.take(len)?))
            }
            MAJOR_TEXT => {
                let len = self.length(arg, 1)?;
                let bytes = self.take(len)?;
                let text = std::str::from_utf8(bytes).map_err(|_| CborError::InvalidUtf8)?;
                Ok(ValueRef::Text(text))
            }
            MAJOR_ARRAY => {
                let len = self.length(arg, 1)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.item(depth + 1)?);
                }
                Ok(ValueRef::Array(items))
            }
            MAJOR_MAP => self.map(arg, depth),
            MAJOR_TAG => Ok(ValueRef::Tag(arg, Box::new(self.item(depth + 1)?))),
            _ => Err(CborError::Unsupported),
        }
    }

    fn map(&mut self, arg: u64, depth: usize) -> Result<ValueRef<'a>, CborError> {
        let len = self.length(arg, 2)?;
        let mut entries = Vec::with_capacity(len);
        let mut previous_key: Option<&[u8]> = None;
        let input = self.input;
        for _ in 0..len {
            let start = self.pos;
            let key = self.item(depth + 1)?;
            let key_bytes = input.get(start..self.pos).ok_or(CborError::Truncated)?;
            if let Some(prev) = previous_key {
                match key_order(prev, key_bytes) {
                    Ordering::Less => {}
                    Ordering::Equal => return Err(CborError::DuplicateKey),
                    Ordering::Greater => return Err(CborError::UnsortedKeys),
                }
            }
            previous_key = Some(key_bytes);
            let value = self.item(depth + 1)?;
            entries.push((key, value));
        }
        Ok(ValueRef::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::super::cbor::encode;
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    fn dec(s: &str) -> Result<Value, CborError> {
        decode(&unhex(s))
    }

    #[test]
    fn round_trips_what_the_encoder_produces() {
        let value = Value::Tag(
            18,
            Box::new(Value::Array(vec![
                Value::Bytes(vec![1, 2]),
                Value::Map(vec![
                    (Value::int(4), Value::Text("জন".into())),
                    (Value::int(-65537), Value::Map(vec![])),
                    (Value::int(1), Value::int(-8)),
                ]),
                Value::Unsigned(u64::MAX),
                Value::Negative(u64::MAX),
            ])),
        );
        let bytes = encode(&value);
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(encode(&decoded), bytes);
    }

    #[test]
    fn rejects_non_shortest_heads() {
        assert_eq!(dec("1817"), Err(CborError::NonCanonical));
        assert_eq!(dec("190017"), Err(CborError::NonCanonical));
        assert_eq!(dec("1900ff"), Err(CborError::NonCanonical));
        assert_eq!(dec("1a0000ffff"), Err(CborError::NonCanonical));
        assert_eq!(dec("1b00000000ffffffff"), Err(CborError::NonCanonical));
        assert_eq!(dec("5801ff"), Err(CborError::NonCanonical));
        assert_eq!(dec("3817"), Err(CborError::NonCanonical));
        assert_eq!(dec("1818"), Ok(Value::Unsigned(24)));
    }

    #[test]
    fn rejects_indefinite_reserved_floats_and_simple_values() {
        for s in ["5fff", "7fff", "9fff", "bfff", "1c", "1d", "1e", "1f"] {
            assert_eq!(dec(s), Err(CborError::Indefinite), "{s}");
        }
        for s in [
            "f4",
            "f5",
            "f6",
            "f7",
            "f93c00",
            "fa47c35000",
            "fb3ff199999999999a",
            "ff",
        ] {
            assert_eq!(dec(s), Err(CborError::Unsupported), "{s}");
        }
    }

    #[test]
    fn rejects_trailing_truncated_and_oversized_input() {
        assert_eq!(dec("0000"), Err(CborError::TrailingBytes));
        assert_eq!(dec(""), Err(CborError::Truncated));
        assert_eq!(dec("19"), Err(CborError::Truncated));
        assert_eq!(dec("4401"), Err(CborError::Truncated));
        assert_eq!(dec("82"), Err(CborError::Truncated));
        assert_eq!(decode(&[0u8; MAX_INPUT + 1]), Err(CborError::TooLarge));
    }

    #[test]
    fn huge_lengths_are_rejected_before_allocating() {
        assert_eq!(dec("5bffffffffffffffff"), Err(CborError::Truncated));
        assert_eq!(dec("9bffffffffffffffff00"), Err(CborError::Truncated));
        assert_eq!(dec("bb7fffffffffffffff0000"), Err(CborError::Truncated));
        // A map of 2 entries needs at least 4 bytes.
        assert_eq!(dec("a20000"), Err(CborError::Truncated));
    }

    #[test]
    fn rejects_bad_utf8_and_bad_maps() {
        assert_eq!(dec("62c328"), Err(CborError::InvalidUtf8));
        assert_eq!(dec("a201000100"), Err(CborError::DuplicateKey));
        assert_eq!(dec("a202000100"), Err(CborError::UnsortedKeys));
        // Length-first order (RFC 7049 canonical) differs from bytewise for these keys.
        assert_eq!(dec("a2200018640a"), Err(CborError::UnsortedKeys));
        assert!(dec("a2186400200a").is_ok());
    }

    #[test]
    fn depth_is_capped() {
        let deep = "81".repeat(MAX_DEPTH) + "00";
        assert_eq!(dec(&deep), Err(CborError::TooDeep));
        let ok = "81".repeat(MAX_DEPTH - 1) + "00";
        assert!(dec(&ok).is_ok());
        let tags = "d2".repeat(MAX_DEPTH) + "00";
        assert_eq!(dec(&tags), Err(CborError::TooDeep));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
            if let Ok(value) = decode(&bytes) {
                // Anything accepted is already in deterministic form.
                prop_assert_eq!(encode(&value), bytes);
            }
        }
    }
}
