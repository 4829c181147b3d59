//! The two languages of Movement Pass, English and Bangla: choosing one, and writing
//! numbers and dates in it. Shared by the web pages and the SMS templates.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::error::bangla_digits;

/// A language of the pages and the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Bn,
}

impl Language {
    /// The language of a citizen's SMS until they choose one: Bangla, the national
    /// language, which most citizens read (an English speaker switches once, in the app).
    pub const NOTIFICATION_DEFAULT: Language = Language::Bn;

    /// `en` or `bn`, for `<html lang>`, cookies, the API and the database.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Bn => "bn",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "en" => Some(Language::En),
            "bn" => Some(Language::Bn),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header that is one of ours, if any
    /// (`bn-BD`, `bn`, `en-US;q=0.8` ...). Quality values are not weighed: clients list
    /// their preferred language first.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        header.split(',').find_map(|item| {
            let tag = item.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or("");
            Language::parse(primary)
        })
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Language {
        match self {
            Language::En => Language::Bn,
            Language::Bn => Language::En,
        }
    }

    /// A fixed text in this language.
    pub fn t(self, en: &'static str, bn: &'static str) -> &'static str {
        self.pick(en, bn)
    }

    /// One of two texts in this language (for data that carries both).
    pub fn pick<'a>(self, en: &'a str, bn: &'a str) -> &'a str {
        match self {
            Language::En => en,
            Language::Bn => bn,
        }
    }

    /// Digits in this language's script (Bangla digits in Bangla text).
    pub fn digits(self, s: &str) -> String {
        match self {
            Language::En => s.to_string(),
            Language::Bn => bangla_digits(s),
        }
    }

    /// A number written in this language.
    pub fn num(self, n: impl std::fmt::Display) -> String {
        self.digits(&n.to_string())
    }

    /// A calendar date, e.g. `12 Apr 1990` / `১২ এপ্রিল ১৯৯০`.
    pub fn date(self, d: Date) -> String {
        let month = month_name(self, d.month());
        self.digits(&format!("{} {month} {}", d.day(), d.year()))
    }

    /// A moment in Bangladesh time, e.g. `22 Nov 2026, 10:00`.
    pub fn datetime(self, t: OffsetDateTime) -> String {
        let local = t.to_offset(dhaka());
        let text = format!("{}, {:02}:{:02}", self.date(local.date()), local.hour(), local.minute());
        self.digits(&text)
    }
}

/// Bangladesh Standard Time, UTC+06:00 all year.
pub fn dhaka() -> UtcOffset {
    UtcOffset::from_whole_seconds(6 * 3600).unwrap_or(UtcOffset::UTC)
}

fn month_name(lang: Language, m: Month) -> &'static str {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const BN: [&str; 12] = [
        "জানুয়ারি",
        "ফেব্রুয়ারি",
        "মার্চ",
        "এপ্রিল",
        "মে",
        "জুন",
        "জুলাই",
        "আগস্ট",
        "সেপ্টেম্বর",
        "অক্টোবর",
        "নভেম্বর",
        "ডিসেম্বর",
    ];
    let i = u8::from(m) as usize - 1;
    match lang {
        Language::En => EN[i],
        Language::Bn => BN[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn bangla_dates_use_bangla_digits_and_months() {
        assert_eq!(Language::Bn.date(date!(1990 - 04 - 12)), "১২ এপ্রিল ১৯৯০");
        assert_eq!(Language::En.date(date!(1990 - 04 - 12)), "12 Apr 1990");
        assert_eq!(
            Language::En.datetime(datetime!(2026-11-22 04:00 UTC)),
            "22 Nov 2026, 10:00"
        );
        assert_eq!(
            Language::Bn.datetime(datetime!(2026-11-22 04:05 UTC)),
            "২২ নভেম্বর ২০২৬, ১০:০৫"
        );
    }

    #[test]
    fn accept_language_picks_the_first_of_ours() {
        assert_eq!(
            Language::from_accept_language("bn-BD,bn;q=0.9,en;q=0.8"),
            Some(Language::Bn)
        );
        assert_eq!(Language::from_accept_language("en-US,en;q=0.9"), Some(Language::En));
        assert_eq!(Language::from_accept_language("fr-FR, bn;q=0.5"), Some(Language::Bn));
        assert_eq!(Language::from_accept_language("fr, de"), None);
        assert_eq!(Language::from_accept_language(""), None);
    }

    #[test]
    fn codes_round_trip() {
        for l in [Language::En, Language::Bn] {
            assert_eq!(Language::parse(l.code()), Some(l));
            assert_eq!(l.other().other(), l);
        }
        assert_eq!(Language::parse("EN"), None);
    }
}
