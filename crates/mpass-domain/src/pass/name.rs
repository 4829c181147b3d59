//! Fitting a holder's full name into the 48-byte name claim of a pass.
//!
//! Officers compare the name with a photo ID, so the family name is the part worth
//! keeping whole: middle names become initials first, then the first name, and only a
//! name still too long after that is cut (on a character boundary).

/// Largest holder name a pass carries, in bytes of UTF-8 (SPEC §7).
pub const MAX_HOLDER_NAME_BYTES: usize = 48;

/// Bengali sign virama (hasant): a name cut right after it would render a broken conjunct.
const BENGALI_VIRAMA: char = '\u{09CD}';

/// Shortens a full name to at most [`MAX_HOLDER_NAME_BYTES`], collapsing whitespace.
///
/// "Mohammad Abdur Rahman Chowdhury Siddiqui Talukder" (49 bytes) becomes
/// "Mohammad A. Rahman Chowdhury Siddiqui Talukder"; names that already fit are only
/// whitespace-normalised.
pub fn abbreviate_holder_name(full: &str) -> String {
    abbreviate_to(full, MAX_HOLDER_NAME_BYTES)
}

fn abbreviate_to(full: &str, max: usize) -> String {
    let words: Vec<&str> = full.split_whitespace().collect();
    let mut parts: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    let mut joined = parts.join(" ");
    if joined.len() <= max {
        return joined;
    }
    // Middle names left to right, then the first name; the last word is kept.
    let n = parts.len();
    let order = (1..n.saturating_sub(1)).chain(std::iter::once(0));
    for i in order.filter(|&i| i + 1 < n) {
        if let (Some(part), Some(word)) = (parts.get_mut(i), words.get(i)) {
            *part = initial(word);
        }
        joined = parts.join(" ");
        if joined.len() <= max {
            return joined;
        }
    }
    truncate_on_char_boundary(&joined, max)
}

/// "Abdur" → "A."; words already as short as an initial ("Md.", "A") are kept.
fn initial(word: &str) -> String {
    match word.chars().next() {
        Some(c) if c.len_utf8() + 1 < word.len() => format!("{c}."),
        _ => word.to_owned(),
    }
}

fn truncate_on_char_boundary(text: &str, max: usize) -> String {
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() > max {
            break;
        }
        end = i + c.len_utf8();
    }
    let cut = text.get(..end).unwrap_or_default();
    cut.trim_end().trim_end_matches(BENGALI_VIRAMA).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_names_are_only_normalised() {
        assert_eq!(abbreviate_holder_name("  Rahim   Uddin "), "Rahim Uddin");
        assert_eq!(abbreviate_holder_name("রহিম উদ্দিন"), "রহিম উদ্দিন");
    }

    #[test]
    fn middle_names_become_initials_before_the_first_name() {
        let full = "Mohammad Abdur Rahman Chowdhury Siddiqui Talukder";
        assert!(full.len() > 48);
        assert_eq!(
            abbreviate_holder_name(full),
            "Mohammad A. Rahman Chowdhury Siddiqui Talukder"
        );
        assert_eq!(
            abbreviate_to("Mohammad Abdur Rahman Chowdhury", 20),
            "M. A. R. Chowdhury"
        );
        assert_eq!(
            abbreviate_to("Mohammad Abdur Rahman Chowdhury", 26),
            "Mohammad A. R. Chowdhury"
        );
    }

    #[test]
    fn bangla_names_use_first_character_as_initial() {
        // Each Bangla letter is 3 bytes, so this is about 80 bytes.
        let full = "মোহাম্মদ আব্দুর রহমান চৌধুরী";
        let short = abbreviate_holder_name(full);
        assert!(short.len() <= 48, "{short}");
        assert!(short.ends_with("চৌধুরী"), "{short}");
        assert!(short.starts_with("ম."), "{short}");
    }

    #[test]
    fn single_long_word_is_truncated_on_a_char_boundary() {
        let long = "অ".repeat(30); // 90 bytes
        let short = abbreviate_holder_name(&long);
        assert_eq!(short, "অ".repeat(16));
        let ascii = "A".repeat(60);
        assert_eq!(abbreviate_holder_name(&ascii).len(), 48);
    }

    proptest! {
        #[test]
        fn always_fits(name in "\\PC{0,80}") {
            let short = abbreviate_holder_name(&name);
            prop_assert!(short.len() <= MAX_HOLDER_NAME_BYTES);
        }
    }
}
