//! Base45 (RFC 9285): binary to the QR alphanumeric character set, strict decoding.
//!
//! Every two bytes become three characters and a final odd byte becomes two, so the
//! text packs into QR alphanumeric mode at 5.5 bits per character.

/// The 45 characters, in value order; exactly the QR alphanumeric set.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a Base45 string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    /// A character outside the Base45 alphabet.
    #[error("invalid base45 character")]
    InvalidChar,
    /// The length is 1 modulo 3.
    #[error("invalid base45 length")]
    InvalidLength,
    /// A group encodes a value too large for its byte count.
    #[error("base45 group out of range")]
    OutOfRange,
}

/// Encodes bytes as Base45.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    for chunk in bytes.chunks(2) {
        let (n, digits) = match *chunk {
            [a, b] => (u32::from(a) * 256 + u32::from(b), 3),
            [a] => (u32::from(a), 2),
            _ => continue,
        };
        let mut n = n;
        for _ in 0..digits {
            // n % 45 < 45, so the index is always in range.
            out.push(char::from(ALPHABET[(n % 45) as usize]));
            n /= 45;
        }
    }
    out
}

/// Each byte's value in the alphabet, or [`NOT_BASE45`]: a table, not a search of the
/// alphabet, because every online check decodes a few hundred characters.
const VALUES: [u8; 256] = {
    let mut table = [NOT_BASE45; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const NOT_BASE45: u8 = u8::MAX;

fn value_of(c: u8) -> Result<u32, Base45Error> {
    match VALUES[usize::from(c)] {
        NOT_BASE45 => Err(Base45Error::InvalidChar),
        v => Ok(u32::from(v)),
    }
}

/// Decodes Base45, rejecting invalid characters, lengths and out-of-range groups.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let input = text.as_bytes();
    if input.len() % 3 == 1 {
        return Err(Base45Error::InvalidLength);
    }
    let mut out = Vec::with_capacity(input.len() / 3 * 2 + 1);
    for chunk in input.chunks(3) {
        match *chunk {
            [c, d, e] => {
                let n = value_of(c)? + value_of(d)? * 45 + value_of(e)? * 45 * 45;
                let n = u16::try_from(n).map_err(|_| Base45Error::OutOfRange)?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            [c, d] => {
                let n = value_of(c)? + value_of(d)? * 45;
                out.push(u8::try_from(n).map_err(|_| Base45Error::OutOfRange)?);
            }
            _ => return Err(Base45Error::InvalidLength),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_9285_vectors() {
        let vectors = [
            ("AB", "BB8"),
            ("Hello!!", "%69 VD92EX0"),
            ("base-45", "UJCLQE7W581"),
            ("ietf!", "QED8WEX0"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded), Ok(plain.as_bytes().to_vec()));
        }
        assert_eq!(encode(b""), "");
        assert_eq!(decode(""), Ok(vec![]));
    }

    #[test]
    fn strict_decoding() {
        // RFC 9285 §4.3: "GGW" is 65535 + 1 and must be rejected.
        assert_eq!(decode("GGW"), Err(Base45Error::OutOfRange));
        assert_eq!(decode("FGW"), Ok(vec![0xff, 0xff]));
        assert_eq!(decode("U5"), Ok(vec![0xff]));
        assert_eq!(decode("V5"), Err(Base45Error::OutOfRange));
        assert_eq!(decode("A"), Err(Base45Error::InvalidLength));
        assert_eq!(decode("BB8A"), Err(Base45Error::InvalidLength));
        assert_eq!(decode("bb8"), Err(Base45Error::InvalidChar));
        assert_eq!(decode("BB="), Err(Base45Error::InvalidChar));
        assert_eq!(decode("Bé"), Err(Base45Error::InvalidChar));
        assert_eq!(decode(":::"), Err(Base45Error::OutOfRange));
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.len(), bytes.len() / 2 * 3 + bytes.len() % 2 * 2);
            prop_assert_eq!(decode(&text), Ok(bytes));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,64}") {
            let _ = decode(&text);
        }
    }
}
