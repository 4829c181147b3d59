//! The two languages of the web pages. The language type and its number and date
//! formatting live in the domain (`mpass_domain::language`), shared with the SMS
//! templates; the pages know it as `Lang`.

pub use mpass_domain::language::{Language as Lang, dhaka};

/// `n` of something in `lang`: English says "1 hour" but "2 hours"; a Bangla noun stays
/// the same after a number ("১ ঘণ্টা", "২ ঘণ্টা").
pub fn count(lang: Lang, n: u64, one: &str, many: &str, bn: &str) -> String {
    match lang {
        Lang::En if n == 1 => format!("1 {one}"),
        Lang::En => format!("{n} {many}"),
        Lang::Bn => format!("{} {bn}", lang.num(n)),
    }
}

/// `n` hours in `lang`.
pub fn hours(lang: Lang, n: u64) -> String {
    count(lang, n, "hour", "hours", "ঘণ্টা")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hour_is_singular_in_english() {
        assert_eq!(hours(Lang::En, 1), "1 hour");
        assert_eq!(hours(Lang::En, 12), "12 hours");
        assert_eq!(hours(Lang::Bn, 1), "১ ঘণ্টা");
        assert_eq!(hours(Lang::Bn, 12), "১২ ঘণ্টা");
    }
}
