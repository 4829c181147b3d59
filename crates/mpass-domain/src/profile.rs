//! The citizen's profile (SPEC §3): parsed from untrusted input into a valid `Profile`.

use serde::{Deserialize, Serialize};
use time::{Date, macros::format_description};

use crate::error::ValidationErrors;
use crate::geo;

/// Gender as the identity documents record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gender {
    F,
    M,
    O,
}

/// Identity document types accepted by SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdType {
    NID,
    BR,
    PP,
    DL,
    SID,
    EID,
}

impl IdType {
    pub fn parse(s: &str) -> Option<IdType> {
        Some(match s {
            "NID" => IdType::NID,
            "BR" => IdType::BR,
            "PP" => IdType::PP,
            "DL" => IdType::DL,
            "SID" => IdType::SID,
            "EID" => IdType::EID,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            IdType::NID => "NID",
            IdType::BR => "BR",
            IdType::PP => "PP",
            IdType::DL => "DL",
            IdType::SID => "SID",
            IdType::EID => "EID",
        }
    }

    /// Whether `number` has the shape this document type uses.
    pub fn accepts(&self, number: &str) -> bool {
        let digits = number.bytes().all(|b| b.is_ascii_digit());
        match self {
            IdType::NID => digits && matches!(number.len(), 10 | 13 | 17),
            IdType::BR => digits && number.len() == 17,
            _ => (4..=32).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric()),
        }
    }
}

/// The profile as a client sends it (`PUT /api/v1/me/profile`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub name: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub home_area: Option<String>,
    /// The language of the citizen's SMS, `en` or `bn` (optional; stored with the user,
    /// not in the profile).
    pub language: Option<String>,
}

impl ProfileInput {
    /// The language the input asks for, when it names a valid one.
    pub fn language(&self) -> Option<crate::language::Language> {
        self.language.as_deref().and_then(crate::language::Language::parse)
    }
}

/// A complete, valid profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(with = "ymd")]
    pub date_of_birth: Date,
    pub gender: Gender,
    pub id_type: IdType,
    pub id_number: String,
    /// Home thana geocode.
    pub home_area: String,
}

impl Profile {
    /// The last four characters of the document number, the only part shown to officers.
    pub fn document_last4(&self) -> String {
        let n = self.id_number.len();
        self.id_number[n.saturating_sub(4)..].to_string()
    }
}

/// Checks a display name: 1–64 characters of any script, no control characters.
pub fn parse_name(field: &str, raw: Option<&str>, max: usize, errors: &mut ValidationErrors) -> Option<String> {
    let Some(raw) = raw else {
        errors.missing(field);
        return None;
    };
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = name.chars().count();
    if len == 0 || len > max {
        errors.add(
            field,
            "length",
            format!("Must be 1 to {max} characters."),
            format!(
                "১ থেকে {} অক্ষরের মধ্যে হতে হবে।",
                crate::error::bangla_digits(&max.to_string())
            ),
        );
        return None;
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '<' | '>')) {
        errors.add(
            field,
            "invalid_characters",
            "Contains characters that are not allowed.",
            "অনুমোদিত নয় এমন অক্ষর রয়েছে।",
        );
        return None;
    }
    Some(name)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

impl ProfileInput {
    /// Validates every field against SPEC §3; `today` decides the 18+ rule.
    pub fn validate(&self, today: Date) -> Result<Profile, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = parse_name("name", self.name.as_deref(), 64, &mut e);
        let dob = match self.date_of_birth.as_deref() {
            None => {
                e.missing("date_of_birth");
                None
            }
            Some(s) => match parse_date(s) {
                None => {
                    e.add(
                        "date_of_birth",
                        "format",
                        "Use the form YYYY-MM-DD.",
                        "YYYY-MM-DD আকারে লিখুন।",
                    );
                    None
                }
                Some(d) if d.year() < today.year() - MAX_AGE_YEARS => {
                    e.add(
                        "date_of_birth",
                        "out_of_range",
                        "The date of birth is too far in the past.",
                        "জন্মতারিখ অনেক বেশি পুরোনো।",
                    );
                    None
                }
                Some(d) if !is_adult(d, today) => {
                    e.add(
                        "date_of_birth",
                        "under_18",
                        "The applicant must be 18 or older.",
                        "আবেদনকারীর বয়স কমপক্ষে ১৮ বছর হতে হবে।",
                    );
                    None
                }
                Some(d) => Some(d),
            },
        };
        if self.language.is_some() && self.language().is_none() {
            e.add("language", "invalid", "Must be en or bn.", "en অথবা bn হতে হবে।");
        }
        let gender = match self.gender.as_deref() {
            None => {
                e.missing("gender");
                None
            }
            Some("F") => Some(Gender::F),
            Some("M") => Some(Gender::M),
            Some("O") => Some(Gender::O),
            Some(_) => {
                e.add("gender", "invalid", "Must be F, M or O.", "F, M অথবা O হতে হবে।");
                None
            }
        };
        let id_type = match self.id_type.as_deref() {
            None => {
                e.missing("id_type");
                None
            }
            Some(s) => {
                let t = IdType::parse(s);
                if t.is_none() {
                    e.add(
                        "id_type",
                        "invalid",
                        "Must be one of NID, BR, PP, DL, SID, EID.",
                        "NID, BR, PP, DL, SID, EID এর একটি হতে হবে।",
                    );
                }
                t
            }
        };
        let id_number = match self.id_number.as_deref().map(str::trim) {
            None => {
                e.missing("id_number");
                None
            }
            Some(n) => {
                let n = n.to_ascii_uppercase();
                match id_type {
                    Some(t) if !t.accepts(&n) => {
                        e.add("id_number", "format", "The document number does not match its type (NID: 10, 13 or 17 digits; BR: 17 digits; others: 4–32 letters or digits).", "নথির নম্বর ধরনের সাথে মেলে না (NID: ১০, ১৩ বা ১৭ অঙ্ক; BR: ১৭ অঙ্ক; অন্যান্য: ৪–৩২টি অক্ষর বা অঙ্ক)।");
                        None
                    }
                    _ => Some(n),
                }
            }
        };
        let home_area = match self.home_area.as_deref() {
            None => {
                e.missing("home_area");
                None
            }
            Some(code) if geo::areas().thana(code).is_some() => Some(code.to_string()),
            Some(_) => {
                e.add("home_area", "unknown_area", "Unknown thana code.", "অজানা থানা কোড।");
                None
            }
        };
        match (name, dob, gender, id_type, id_number, home_area) {
            (Some(name), Some(date_of_birth), Some(gender), Some(id_type), Some(id_number), Some(home_area))
                if e.is_empty() =>
            {
                Ok(Profile {
                    name,
                    date_of_birth,
                    gender,
                    id_type,
                    id_number,
                    home_area,
                })
            }
            _ => Err(e),
        }
    }
}

/// The oldest applicant accepted, in years: past it a date of birth is a typing mistake
/// (0000-01-01), not a person.
const MAX_AGE_YEARS: i32 = 130;

fn is_adult(dob: Date, today: Date) -> bool {
    let mut age = today.year() - dob.year();
    if (today.month() as u8, today.day()) < (dob.month() as u8, dob.day()) {
        age -= 1;
    }
    age >= 18 && dob <= today
}

mod ymd {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::{Date, macros::format_description};

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date(&s).ok_or_else(|| serde::de::Error::custom("bad date"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn document_rules_by_type() {
        assert!(IdType::NID.accepts("1234567890"));
        assert!(IdType::NID.accepts("1234567890123"));
        assert!(!IdType::NID.accepts("12345678901"));
        assert!(IdType::BR.accepts("12345678901234567"));
        assert!(!IdType::BR.accepts("1234567890"));
        assert!(IdType::PP.accepts("A1234567"));
        assert!(!IdType::PP.accepts("A12"));
        assert!(!IdType::DL.accepts("AB-1234"));
    }

    #[test]
    fn age_boundary() {
        let today = date!(2026 - 11 - 21);
        assert!(is_adult(date!(2008 - 11 - 21), today));
        assert!(!is_adult(date!(2008 - 11 - 22), today));
    }

    #[test]
    fn a_date_of_birth_too_far_back_is_refused() {
        let today = date!(2026 - 11 - 21);
        let input = |dob: &str| ProfileInput {
            date_of_birth: Some(dob.into()),
            ..ProfileInput::default()
        };
        let code = |dob: &str| {
            input(dob)
                .validate(today)
                .unwrap_err()
                .0
                .into_iter()
                .find(|f| f.field == "date_of_birth")
                .map(|f| f.code)
        };
        assert_eq!(code("0000-01-01"), Some("out_of_range"));
        assert_eq!(code("1895-12-31"), Some("out_of_range"));
        assert_eq!(code("1896-01-01"), None);
        assert_eq!(code("2010-01-01"), Some("under_18"));
    }

    #[test]
    fn names_every_bad_field() {
        let input = ProfileInput {
            name: Some("".into()),
            gender: Some("X".into()),
            ..Default::default()
        };
        let err = input.validate(date!(2026 - 11 - 21)).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "date_of_birth", "gender", "id_type", "id_number", "home_area"]
        );
    }
}
