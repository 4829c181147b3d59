//! The two languages of the web pages: choosing one, and writing numbers and dates in it.

use time::{Date, Month, OffsetDateTime, UtcOffset};

use mpass_domain::error::bangla_digits;

/// A page language; the `lang` cookie remembers the citizen's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Bn,
}

impl Lang {
    /// `en` or `bn`, for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Bn => "bn",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "bn" => Some(Lang::Bn),
            _ => None,
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Bn,
            Lang::Bn => Lang::En,
        }
    }

    /// A fixed text in this language.
    pub fn t(self, en: &'static str, bn: &'static str) -> &'static str {
        self.pick(en, bn)
    }

    /// One of two texts in this language (for data that carries both).
    pub fn pick<'a>(self, en: &'a str, bn: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Bn => bn,
        }
    }

    /// Digits in this language's script (Bangla digits on Bangla pages).
    pub fn digits(self, s: &str) -> String {
        match self {
            Lang::En => s.to_string(),
            Lang::Bn => bangla_digits(s),
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

fn month_name(lang: Lang, m: Month) -> &'static str {
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
        Lang::En => EN[i],
        Lang::Bn => BN[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn bangla_dates_use_bangla_digits_and_months() {
        assert_eq!(Lang::Bn.date(date!(1990 - 04 - 12)), "১২ এপ্রিল ১৯৯০");
        assert_eq!(Lang::En.date(date!(1990 - 04 - 12)), "12 Apr 1990");
        assert_eq!(Lang::En.datetime(datetime!(2026-11-22 04:00 UTC)), "22 Nov 2026, 10:00");
        assert_eq!(
            Lang::Bn.datetime(datetime!(2026-11-22 04:05 UTC)),
            "২২ নভেম্বর ২০২৬, ১০:০৫"
        );
    }
}
