//! Bangladeshi mobile numbers, normalised to E.164 (`+8801XXXXXXXXX`).

use serde::{Deserialize, Serialize};

/// A valid Bangladeshi mobile number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts `01[3-9]XXXXXXXX` with an optional `+880`/`880` prefix (replacing the `0`),
    /// ignoring spaces and hyphens, in ASCII or Bangla digits (`০১৭…`, as a Bangla keyboard
    /// types them; the web form and the API take the same numbers).
    pub fn parse(input: &str) -> Option<Phone> {
        // Bangla digits take three bytes each.
        if input.len() > 64 {
            return None;
        }
        let compact: String = input
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .map(ascii_digit)
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+880") {
            format!("0{rest}")
        } else if let Some(rest) = compact.strip_prefix("880") {
            format!("0{rest}")
        } else {
            compact
        };
        let b = national.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'0'
            && b[1] == b'1'
            && (b'3'..=b'9').contains(&b[2]);
        ok.then(|| Phone(format!("+88{national}")))
    }

    /// The E.164 form, `+8801XXXXXXXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The national form, `01XXXXXXXXX`, as the legacy API and SMS texts use it.
    pub fn national(&self) -> &str {
        &self.0[3..]
    }

    /// Rebuilds a phone read back from storage.
    pub fn from_stored(s: String) -> Phone {
        Phone(s)
    }
}

/// A Bangla digit (`০`–`৯`) as its ASCII digit; any other character as it is. People type
/// numbers and codes in either.
pub fn ascii_digit(c: char) -> char {
    match c {
        '০'..='৯' => char::from_digit(u32::from(c) - u32::from('০'), 10).unwrap_or(c),
        c => c,
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_prefixes() {
        for s in [
            "01712345678",
            "+8801712345678",
            "8801712345678",
            "017-1234 5678",
            "০১৭১২৩৪৫৬৭৮",
            "+৮৮০১৭১২৩৪৫৬৭৮",
            "০১৭১২-৩৪৫৬৭৮",
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "+8801712345678", "{s}");
        }
        assert_eq!(Phone::parse("01712345678").unwrap().national(), "01712345678");
    }

    #[test]
    fn rejects_non_mobiles() {
        for s in [
            "",
            "0171234567",
            "017123456789",
            "01212345678",
            "02712345678",
            "+9101712345678",
            "0171234567a",
            "০১৭১২৩৪৫৬৭",
            "০২৭১২৩৪৫৬৭৮",
            // Other scripts' digits are not Bangla's.
            "٠١٧١٢٣٤٥٦٧٨",
        ] {
            assert!(Phone::parse(s).is_none(), "{s}");
        }
    }
}
