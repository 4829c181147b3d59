//! Minimal deterministic CBOR (RFC 8949 §4.2.1) encoder: just the types a pass needs.
//!
//! Independent verifiers hash and sign exact bytes, so there is one encoding of each
//! value: shortest-form heads, definite lengths only, and map entries sorted by the
//! bytewise order of their encoded keys. Floats and simple values are not represented
//! at all, so they cannot be produced by accident. The strict decoder lives in
//! [`super::cbor_decode`].

use std::cmp::Ordering;

/// CBOR major type 0: unsigned integer.
pub(crate) const MAJOR_UNSIGNED: u8 = 0;
/// CBOR major type 1: negative integer `-1 - n`.
pub(crate) const MAJOR_NEGATIVE: u8 = 1;
/// CBOR major type 2: byte string.
pub(crate) const MAJOR_BYTES: u8 = 2;
/// CBOR major type 3: UTF-8 text string.
pub(crate) const MAJOR_TEXT: u8 = 3;
/// CBOR major type 4: array.
pub(crate) const MAJOR_ARRAY: u8 = 4;
/// CBOR major type 5: map.
pub(crate) const MAJOR_MAP: u8 = 5;
/// CBOR major type 6: tag.
pub(crate) const MAJOR_TAG: u8 = 6;

/// A CBOR data item restricted to the types used by passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Major type 0.
    Unsigned(u64),
    /// Major type 1; `Negative(n)` is the integer `-1 - n`.
    Negative(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5, entries in any order; the encoder sorts them.
    Map(Vec<(Value, Value)>),
    /// Major type 6.
    Tag(u64, Box<Value>),
}

impl Value {
    /// A signed integer, as major type 0 or 1.
    pub fn int(n: i64) -> Self {
        if n >= 0 {
            Value::Unsigned(n.unsigned_abs())
        } else {
            // -1 - n for negative n is in 0..=i64::MAX, so it cannot overflow.
            Value::Negative((-1 - n).unsigned_abs())
        }
    }
}

/// What reading a decoded item needs, for an owned [`Value`] and for the decoder's borrowed
/// [`super::cbor_decode::ValueRef`] alike.
pub trait Item: Sized {
    /// The integer value if this is an integer that fits `i64`.
    fn as_i64(&self) -> Option<i64>;
    /// The value if this is an unsigned integer.
    fn as_u64(&self) -> Option<u64>;
    /// The bytes if this is a byte string.
    fn as_bytes(&self) -> Option<&[u8]>;
    /// The text if this is a text string.
    fn as_text(&self) -> Option<&str>;
    /// The entries if this is a map.
    fn as_map(&self) -> Option<&[(Self, Self)]>;
    /// The items if this is an array.
    fn as_array(&self) -> Option<&[Self]>;
}

/// Both value types implement [`Item`] the same way, variant for variant.
macro_rules! impl_item {
    ($t:ty) => {
        impl $crate::pass::cbor::Item for $t {
            fn as_i64(&self) -> Option<i64> {
                match *self {
                    Self::Unsigned(n) => i64::try_from(n).ok(),
                    Self::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
                    _ => None,
                }
            }

            fn as_u64(&self) -> Option<u64> {
                match *self {
                    Self::Unsigned(n) => Some(n),
                    _ => None,
                }
            }

            fn as_bytes(&self) -> Option<&[u8]> {
                match self {
                    Self::Bytes(b) => Some(b),
                    _ => None,
                }
            }

            fn as_text(&self) -> Option<&str> {
                match self {
                    Self::Text(t) => Some(t),
                    _ => None,
                }
            }

            fn as_map(&self) -> Option<&[(Self, Self)]> {
                match self {
                    Self::Map(m) => Some(m),
                    _ => None,
                }
            }

            fn as_array(&self) -> Option<&[Self]> {
                match self {
                    Self::Array(a) => Some(a),
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use impl_item;

impl_item!(Value);

/// Encodes a value in deterministic CBOR.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the deterministic encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Unsigned(n) => write_head(out, MAJOR_UNSIGNED, *n),
        Value::Negative(n) => write_head(out, MAJOR_NEGATIVE, *n),
        Value::Bytes(b) => {
            write_head(out, MAJOR_BYTES, len_u64(b.len()));
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            write_head(out, MAJOR_TEXT, len_u64(t.len()));
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            write_head(out, MAJOR_ARRAY, len_u64(items.len()));
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(entries) => {
            // Core deterministic order: bytewise lexicographic order of encoded keys.
            let mut encoded: Vec<(Vec<u8>, &Value)> = entries.iter().map(|(k, v)| (encode(k), v)).collect();
            encoded.sort_by(|a, b| a.0.cmp(&b.0));
            write_head(out, MAJOR_MAP, len_u64(encoded.len()));
            for (key, v) in encoded {
                out.extend_from_slice(&key);
                encode_into(v, out);
            }
        }
        Value::Tag(tag, inner) => {
            write_head(out, MAJOR_TAG, *tag);
            encode_into(inner, out);
        }
    }
}

/// Compares two encoded keys in core deterministic order.
pub(crate) fn key_order(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

fn len_u64(len: usize) -> u64 {
    // usize is at most 64 bits on every supported target.
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Writes a head (major type + argument) in its shortest form.
fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let mt = major << 5;
    if arg < 24 {
        out.push(mt | arg as u8);
    } else if let Ok(a) = u8::try_from(arg) {
        out.push(mt | 24);
        out.push(a);
    } else if let Ok(a) = u16::try_from(arg) {
        out.push(mt | 25);
        out.extend_from_slice(&a.to_be_bytes());
    } else if let Ok(a) = u32::try_from(arg) {
        out.push(mt | 26);
        out.extend_from_slice(&a.to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn integers_use_shortest_heads() {
        // RFC 8949 Appendix A examples.
        let cases: &[(i64, &str)] = &[
            (0, "00"),
            (23, "17"),
            (24, "1818"),
            (255, "18ff"),
            (256, "190100"),
            (65535, "19ffff"),
            (65536, "1a00010000"),
            (4_294_967_295, "1affffffff"),
            (4_294_967_296, "1b0000000100000000"),
            (-1, "20"),
            (-24, "37"),
            (-25, "3818"),
            (-100, "3863"),
            (-1000, "3903e7"),
            (-65537, "3a00010000"),
            (i64::MIN, "3b7fffffffffffffff"),
        ];
        for (n, want) in cases {
            assert_eq!(hex(&encode(&Value::int(*n))), *want, "{n}");
            assert_eq!(Value::int(*n).as_i64(), Some(*n));
        }
        assert_eq!(hex(&encode(&Value::Unsigned(u64::MAX))), "1bffffffffffffffff");
    }

    #[test]
    fn strings_and_containers() {
        assert_eq!(hex(&encode(&Value::Bytes(vec![1, 2, 3, 4]))), "4401020304");
        assert_eq!(hex(&encode(&Value::Text("IETF".into()))), "6449455446");
        assert_eq!(hex(&encode(&Value::Text("ü".into()))), "62c3bc");
        assert_eq!(
            hex(&encode(&Value::Array(vec![Value::int(1), Value::int(2)]))),
            "820102"
        );
        assert_eq!(hex(&encode(&Value::Tag(18, Box::new(Value::Array(vec![]))))), "d280");
        assert_eq!(&hex(&encode(&Value::Bytes(vec![0; 24])))[..4], "5818");
    }

    #[test]
    fn map_keys_sorted_bytewise_regardless_of_input_order() {
        let map = Value::Map(vec![
            (Value::int(-65537), Value::int(0)),
            (Value::Text("a".into()), Value::int(0)),
            (Value::int(100), Value::int(0)),
            (Value::int(-1), Value::int(0)),
            (Value::int(10), Value::int(0)),
        ]);
        // Bytewise: 0a < 1864 < 20 < 3a00010000 < 6161 (not length-first).
        assert_eq!(hex(&encode(&map)), "a50a0018640020003a0001000000616100");
        let mut reversed = map.as_map().unwrap_or_default().to_vec();
        reversed.reverse();
        assert_eq!(encode(&Value::Map(reversed)), encode(&map));
    }
}
