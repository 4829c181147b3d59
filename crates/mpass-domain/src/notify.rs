//! The citizen's SMS (SPEC §11), one function per message, in English and Bangla.
//!
//! Every message fits in [`MAX_SEGMENTS`] SMS segments: a message in GSM-7 (plain English)
//! has 160 characters in one segment and 153 per segment when split; anything else (Bangla,
//! or English carrying a Bangla reason) goes as UCS-2, 70 code units in one segment and 67
//! per segment when split. The fixed text of each template is short enough, and a variable
//! part written by a person (a rejection reason, a reviewer's question, a revocation
//! reason) is cut at a word boundary, with `...`, until the whole message fits.
//!
//! Numbers that people read (minutes, dates, times) are written in Bangla digits in
//! Bangla messages. Codes people type or copy (the login code, a pass short code, an
//! application reference) stay in ASCII: phones fill in one-time codes only from ASCII
//! digits, and the short code's alphabet is Latin.

use time::OffsetDateTime;

use crate::ids::ApplicationId;
use crate::language::{Language, dhaka};

/// Most segments a message may take (a longer SMS costs more and arrives in pieces).
pub const MAX_SEGMENTS: u32 = 3;

/// How a message is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The GSM 03.38 default alphabet, 7 bits a character.
    Gsm7,
    /// UTF-16, 16 bits a code unit (anything outside GSM-7).
    Ucs2,
}

/// The size of a message on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7, extension characters count two) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub count: u32,
}

/// Characters of the GSM 03.38 basic table.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the extension table: an escape plus the character, two septets.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Counts the segments `text` takes.
pub fn segments(text: &str) -> Segments {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, part) = if gsm {
        (Encoding::Gsm7, septets, 160, 153)
    } else {
        (Encoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let count = if units <= single { 1 } else { units.div_ceil(part) };
    Segments {
        encoding,
        units,
        count: u32::try_from(count).unwrap_or(u32::MAX),
    }
}

/// The short reference of an application in messages: the last 8 hex digits of its id,
/// upper case (the leading digits of a time-ordered id are the time, alike for neighbours).
pub fn app_ref(id: ApplicationId) -> String {
    let simple = id.0.simple().to_string();
    simple[simple.len() - 8..].to_ascii_uppercase()
}

/// The login code (SPEC §2).
pub fn otp(lang: Language, code: &str, valid_minutes: i64) -> String {
    match lang {
        Language::En => format!(
            "Movement Pass login code: {code}. Valid for {valid_minutes} minutes. Never share it; \
             we will never ask for it."
        ),
        Language::Bn => format!(
            "মুভমেন্ট পাস লগইন কোড: {code}। {} মিনিট বৈধ। কাউকে কোডটি দেবেন না।",
            lang.num(valid_minutes)
        ),
    }
}

/// An approved application: the pass short code and when it is valid.
pub fn approved(lang: Language, short_code: &str, valid_from: OffsetDateTime, valid_until: OffsetDateTime) -> String {
    let when = validity(lang, valid_from, valid_until);
    match lang {
        Language::En => format!(
            "Movement Pass approved. Pass code {short_code}, valid {when}. Show the QR code in the app \
             or this code at checkpoints."
        ),
        Language::Bn => {
            format!("মুভমেন্ট পাস অনুমোদিত। পাস কোড {short_code}, বৈধ {when}। চেকপোস্টে অ্যাপের QR কোড বা এই কোড দেখান।")
        }
    }
}

/// A rejected application, with the first reason (in the citizen's language).
pub fn rejected(lang: Language, app_ref: &str, first_reason: &str) -> String {
    let reason = one_line(first_reason);
    if reason.is_empty() {
        return match lang {
            Language::En => format!("Movement Pass application {app_ref} was not approved. See the app for details."),
            Language::Bn => format!("মুভমেন্ট পাস আবেদন {app_ref} অনুমোদিত হয়নি। বিস্তারিত অ্যাপে দেখুন।"),
        };
    }
    fit(&reason, |r| match lang {
        Language::En => format!(
            "Movement Pass application {app_ref} was not approved: {} See the app for details.",
            sentence(lang, r)
        ),
        Language::Bn => format!(
            "মুভমেন্ট পাস আবেদন {app_ref} অনুমোদিত হয়নি: {} বিস্তারিত অ্যাপে দেখুন।",
            sentence(lang, r)
        ),
    })
}

/// An application the policy sent to an officer for review.
pub fn in_review(lang: Language, app_ref: &str) -> String {
    match lang {
        Language::En => format!(
            "Movement Pass application {app_ref} is being reviewed by an officer. We will send an SMS \
             when it is decided."
        ),
        Language::Bn => format!("মুভমেন্ট পাস আবেদন {app_ref} একজন কর্মকর্তা পর্যালোচনা করছেন। সিদ্ধান্ত হলে SMS পাঠানো হবে।"),
    }
}

/// A reviewer asks the citizen for more information (`app_ref`: see [`app_ref`]).
pub fn info_requested(lang: Language, app_ref: &str, question: &str) -> String {
    let question = one_line(question);
    fit(&question, |q| match lang {
        Language::En => format!(
            "Movement Pass application {app_ref}: the reviewer asks: {} Please answer in the app.",
            sentence(lang, q)
        ),
        Language::Bn => format!(
            "মুভমেন্ট পাস আবেদন {app_ref}: পর্যালোচক জানতে চান: {} অ্যাপে উত্তর দিন।",
            sentence(lang, q)
        ),
    })
}

/// A revoked pass, with the reason the officer gave.
pub fn revoked(lang: Language, short_code: &str, reason: &str) -> String {
    let reason = one_line(reason);
    fit(&reason, |r| match lang {
        Language::En => format!(
            "Your Movement Pass {short_code} has been revoked: {} Do not travel on it.",
            sentence(lang, r)
        ),
        Language::Bn => format!(
            "আপনার মুভমেন্ট পাস {short_code} বাতিল করা হয়েছে: {} এই পাস দিয়ে চলাচল করবেন না।",
            sentence(lang, r)
        ),
    })
}

/// When a pass is valid, in Bangladesh time: one date when it starts and ends on the same
/// day (`22 Nov 2026, 10:00-12:00`), else both moments.
fn validity(lang: Language, from: OffsetDateTime, until: OffsetDateTime) -> String {
    let (a, b) = (from.to_offset(dhaka()), until.to_offset(dhaka()));
    let hm = |t: OffsetDateTime| lang.digits(&format!("{:02}:{:02}", t.hour(), t.minute()));
    match (lang, a.date() == b.date()) {
        (Language::En, true) => format!("{}, {}-{}", lang.date(a.date()), hm(a), hm(b)),
        (Language::Bn, true) => format!("{}, {} থেকে {}", lang.date(a.date()), hm(a), hm(b)),
        (Language::En, false) => format!("{} to {}", lang.datetime(a), lang.datetime(b)),
        (Language::Bn, false) => format!("{} থেকে {}", lang.datetime(a), lang.datetime(b)),
    }
}

/// Text a person wrote, on one line with single spaces (no control characters reach an SMS).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` ending with a full stop of the language unless it ends with punctuation already.
fn sentence(lang: Language, text: &str) -> String {
    if text.ends_with(['.', '!', '?', '।']) {
        text.to_string()
    } else {
        format!("{text}{}", lang.t(".", "।"))
    }
}

/// `build(variable)`, with `variable` cut at a word boundary (and `...` added) until the
/// message fits in [`MAX_SEGMENTS`].
fn fit(variable: &str, build: impl Fn(&str) -> String) -> String {
    let whole = build(variable);
    if segments(&whole).count <= MAX_SEGMENTS {
        return whole;
    }
    let chars: Vec<(usize, char)> = variable.char_indices().collect();
    // The longest prefix that fits; binary search over character counts.
    let (mut lo, mut hi) = (0usize, chars.len());
    let cut = |n: usize| -> String {
        let end = chars.get(n).map_or(variable.len(), |(i, _)| *i);
        let head = &variable[..end];
        // Prefer a word boundary when one is near (within 15 characters).
        let head = match head.rfind(' ') {
            Some(space) if head[space..].chars().count() <= 15 && space > 0 => &head[..space],
            _ => head,
        };
        format!("{}...", head.trim_end())
    };
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if segments(&build(&cut(mid))).count <= MAX_SEGMENTS {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    build(&cut(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const LANGS: [Language; 2] = [Language::En, Language::Bn];

    #[test]
    fn segment_counts_follow_gsm_and_ucs2_limits() {
        let a = |n| "a".repeat(n);
        assert_eq!(segments(&a(160)).count, 1);
        assert_eq!(segments(&a(160)).encoding, Encoding::Gsm7);
        assert_eq!(segments(&a(161)).count, 2);
        assert_eq!(segments(&a(306)).count, 2);
        assert_eq!(segments(&a(307)).count, 3);
        // Extension characters take two septets.
        assert_eq!(segments(&"€".repeat(80)).units, 160);
        assert_eq!(segments(&"€".repeat(81)).count, 2);
        let bn = |n| "ক".repeat(n);
        assert_eq!(
            segments(&bn(70)),
            Segments {
                encoding: Encoding::Ucs2,
                units: 70,
                count: 1
            }
        );
        assert_eq!(segments(&bn(71)).count, 2);
        assert_eq!(segments(&bn(134)).count, 2);
        assert_eq!(segments(&bn(135)).count, 3);
        // One Bangla letter turns an English text into UCS-2; an emoji is two code units.
        assert_eq!(segments(&format!("{}ক", a(69))).count, 1);
        assert_eq!(segments(&format!("{}ক", a(70))).count, 2);
        assert_eq!(segments("🙂").units, 2);
        assert_eq!(segments("").count, 1);
    }

    #[test]
    fn every_template_fits_in_three_segments_even_with_the_longest_inputs() {
        let long_en = "The applicant gave a destination that is outside the district named in the form and \
                       no medical document was attached although the reason given was medical treatment. "
            .repeat(20);
        let long_bn =
            "আবেদনকারী ফর্মে উল্লেখিত জেলার বাইরের গন্তব্য দিয়েছেন এবং চিকিৎসার কারণ দেখালেও কোনো কাগজ দেননি। ".repeat(20);
        let from = datetime!(2026-11-22 04:00 UTC);
        let next_day = datetime!(2026-11-23 17:59 UTC);
        for lang in LANGS {
            let mut all = vec![
                otp(lang, "123456", 5),
                approved(lang, "7Q2M9X4K", from, from + time::Duration::hours(2)),
                approved(lang, "7Q2M9X4K", from, next_day),
                rejected(lang, "A1B2C3D4", ""),
                in_review(lang, "A1B2C3D4"),
            ];
            for text in [long_en.as_str(), long_bn.as_str(), "short", &"x".repeat(2000)] {
                all.push(rejected(lang, "A1B2C3D4", text));
                all.push(info_requested(lang, "A1B2C3D4", text));
                all.push(revoked(lang, "7Q2M9X4K", text));
            }
            for msg in all {
                let s = segments(&msg);
                assert!(
                    s.count <= MAX_SEGMENTS,
                    "{lang:?} message takes {} segments: {msg}",
                    s.count
                );
                assert!(!msg.contains('\n'), "one line: {msg}");
            }
        }
    }

    #[test]
    fn fixed_messages_are_short() {
        // The messages without a person's text fit in two segments, OTP in one (English) or two.
        for lang in LANGS {
            assert!(segments(&otp(lang, "123456", 5)).count <= 2);
            assert!(segments(&in_review(lang, "A1B2C3D4")).count <= 2);
        }
        assert_eq!(segments(&otp(Language::En, "123456", 5)).count, 1);
        assert_eq!(segments(&otp(Language::En, "123456", 5)).encoding, Encoding::Gsm7);
    }

    #[test]
    fn messages_carry_their_facts_in_the_right_language() {
        let from = datetime!(2026-11-22 04:00 UTC);
        let until = from + time::Duration::hours(2);
        assert_eq!(
            approved(Language::En, "7Q2M9X4K", from, until),
            "Movement Pass approved. Pass code 7Q2M9X4K, valid 22 Nov 2026, 10:00-12:00. Show the QR code \
             in the app or this code at checkpoints."
        );
        let bn = approved(Language::Bn, "7Q2M9X4K", from, until);
        assert!(bn.contains("7Q2M9X4K"), "codes stay ASCII: {bn}");
        assert!(bn.contains("২২ নভেম্বর ২০২৬, ১০:০০ থেকে ১২:০০"), "{bn}");
        let otp_bn = otp(Language::Bn, "042917", 5);
        assert!(otp_bn.contains("042917") && otp_bn.contains("৫ মিনিট"), "{otp_bn}");
        assert!(otp(Language::En, "042917", 5).contains("042917"));
        assert_eq!(
            rejected(Language::En, "A1B2C3D4", "Travel during curfew is not allowed"),
            "Movement Pass application A1B2C3D4 was not approved: Travel during curfew is not allowed. See \
             the app for details."
        );
        assert!(rejected(Language::Bn, "A1B2C3D4", "কারফিউর সময় চলাচল নিষেধ।").contains("নিষেধ। বিস্তারিত"));
        let asked = info_requested(Language::Bn, "A1B2C3D4", "Which hospital?\nPlease name it");
        assert!(asked.contains("Which hospital? Please name it।"), "{asked}");
        assert!(revoked(Language::En, "7Q2M9X4K", "Misuse").contains("7Q2M9X4K has been revoked: Misuse."));
        assert!(revoked(Language::Bn, "7Q2M9X4K", "অপব্যবহার").contains("বাতিল করা হয়েছে: অপব্যবহার।"));
    }

    #[test]
    fn long_text_is_cut_at_a_word_with_an_ellipsis() {
        let reason = "word ".repeat(200);
        let msg = revoked(Language::En, "7Q2M9X4K", &reason);
        assert!(msg.contains("word word..."), "{msg}");
        assert!(!msg.contains("wor..."), "{msg}");
        assert_eq!(segments(&msg).count, MAX_SEGMENTS, "uses the room it has");
        assert!(msg.ends_with("Do not travel on it."));
    }

    #[test]
    fn app_refs_are_the_random_tail_of_the_id() {
        let id = ApplicationId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
        assert_eq!(app_ref(id), "099A8057");
    }
}
