//! What the citizen reads when something goes wrong: field errors next to their fields and
//! the server's problems (rate limits, conflicts, outages) in their language.

use std::fmt::Write;

use mpass_domain::ports::Role;

use super::html::{esc, field_id};
use super::i18n::Lang;
use crate::error::ApiError;

/// Errors of one form: per field, plus one for the whole form.
#[derive(Debug, Default)]
pub struct FormErrors {
    fields: Vec<(String, String)>,
    pub general: Option<String>,
    /// `general` is about no input at all (a wait, a busy service), not something to correct.
    notice: bool,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// A problem about no input at all (a wait, a busy service): said on its own.
    pub fn notice(text: impl Into<String>) -> FormErrors {
        FormErrors {
            general: Some(text.into()),
            notice: true,
            ..FormErrors::default()
        }
    }

    /// The first message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Replaces the messages for `field` with one of ours.
    pub fn replace(&mut self, field: &str, message: impl Into<String>) {
        self.fields.retain(|(f, _)| f != field);
        self.add(field, message);
    }

    /// Records a message for `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.push((field.to_string(), message.into()));
    }

    /// The errors of a failed action; `known` says which field names the form shows, so
    /// errors about other fields land in the summary instead of vanishing.
    pub fn from_api(lang: Lang, err: &ApiError, known: &dyn Fn(&str) -> Option<String>) -> FormErrors {
        let mut out = FormErrors::default();
        match err {
            ApiError::Validation(v) => {
                for e in &v.0 {
                    let text = lang.pick(&e.message, &e.message_bn).to_string();
                    match known(&e.field) {
                        Some(field) => out.add(&field, text),
                        None => {
                            let g = out.general.get_or_insert_with(String::new);
                            if !g.is_empty() {
                                g.push(' ');
                            }
                            let _ = write!(g, "{}: {text}", e.field);
                        }
                    }
                }
            }
            other => {
                log_failure(other);
                out.general = Some(problem_text(lang, other));
                out.notice = true;
            }
        }
        out
    }

    /// The summary at the top of a form: an alert listing each problem with a link to its
    /// field, named by `label` (the field's label as the form shows it). A problem that is
    /// about no input (a wait, a busy service) is said on its own: there is nothing to correct.
    pub fn summary(&self, lang: Lang, label: &dyn Fn(&str) -> Option<String>) -> String {
        if self.is_empty() {
            return String::new();
        }
        if let (Some(g), true) = (&self.general, self.notice && self.fields.is_empty()) {
            return format!(
                "<div class=\"notice error\" role=\"alert\" tabindex=\"-1\" data-focus><p>{}</p></div>",
                esc(g)
            );
        }
        let mut h = format!(
            "<div class=\"notice error\" role=\"alert\" tabindex=\"-1\" data-focus><p><strong>{}</strong></p><ul>",
            lang.t("Please correct the following:", "অনুগ্রহ করে নিচের বিষয়গুলো ঠিক করুন:")
        );
        if let Some(g) = &self.general {
            let _ = write!(h, "<li>{}</li>", esc(g));
        }
        for (field, msg) in &self.fields {
            let text = match label(field) {
                Some(name) => format!("{name}: {msg}"),
                None => msg.clone(),
            };
            let _ = write!(h, "<li><a href=\"#{}\">{}</a></li>", field_id(field), esc(&text));
        }
        h.push_str("</ul></div>");
        h
    }
}

/// A problem that is not about one field, as a sentence in `lang`.
///
/// Every variant is named (no catch-all), so a new kind of error gets its own sentence:
/// only a failure of ours may say it was ours.
pub fn problem_text(lang: Lang, err: &ApiError) -> String {
    match err {
        ApiError::RateLimited { retry_after } => {
            let (n, unit) = wait_in_units(lang, *retry_after);
            match lang {
                Lang::En => format!("Too many attempts. Please try again in {n} {unit}."),
                Lang::Bn => format!("অনেকবার চেষ্টা করা হয়েছে। {} {unit} পরে আবার চেষ্টা করুন।", lang.num(n)),
            }
        }
        ApiError::Conflict { code, detail } => match *code {
            "profile_required" => lang
                .t(
                    "Complete your profile before applying.",
                    "আবেদন করার আগে আপনার প্রোফাইল পূরণ করুন।",
                )
                .into(),
            "pass_not_usable" => lang
                .t(
                    "This pass cannot be used: it was cancelled or revoked, or it has expired. There is nothing to print.",
                    "এই পাসটি ব্যবহার করা যাবে না: এটি বাতিল বা প্রত্যাহার করা হয়েছে, অথবা এর মেয়াদ শেষ। প্রিন্ট করার কিছু নেই।",
                )
                .into(),
            "not_cancellable" => lang
                .t(
                    "This application can no longer be cancelled.",
                    "এই আবেদনটি আর বাতিল করা যাবে না।",
                )
                .into(),
            _ => detail.clone(),
        },
        // Only the photo form sends a file; it says so itself (`photo_too_large_text`).
        ApiError::PayloadTooLarge => lang
            .t(
                "The form is too large to send. Shorten what you typed and send it again.",
                "ফর্মটি পাঠানোর জন্য খুব বড়। লেখা ছোট করে আবার পাঠান।",
            )
            .into(),
        ApiError::RequestTimeout | ApiError::InvalidJson { .. } => lang
            .t(
                "The form did not arrive whole. Please send it again.",
                "ফর্মটি পুরোপুরি পৌঁছায়নি। অনুগ্রহ করে আবার পাঠান।",
            )
            .into(),
        ApiError::UnsupportedMediaType(_) => lang.t("Choose a JPEG or PNG photo.", "JPEG বা PNG ছবি বেছে নিন।").into(),
        ApiError::IdempotencyKeyReused => lang
            .t(
                "This form was already sent with other details. Reload the page and try again.",
                "এই ফর্মটি অন্য তথ্য দিয়ে আগেই পাঠানো হয়েছে। পাতাটি আবার লোড করে চেষ্টা করুন।",
            )
            .into(),
        ApiError::Validation(v) => {
            let texts: Vec<&str> = v.0.iter().map(|e| lang.pick(&e.message, &e.message_bn)).collect();
            if texts.is_empty() {
                lang.t("Please check what you entered.", "আপনি যা লিখেছেন তা দেখে নিন।")
                    .into()
            } else {
                texts.join(" ")
            }
        }
        // The detail names the parameter at fault, in English only.
        ApiError::BadRequest { detail, .. } => match lang {
            Lang::En => format!("This address or form is not valid: {detail}"),
            Lang::Bn => "এই ঠিকানা বা ফর্মটি সঠিক নয়। পাতার লিংক বা ফর্ম থেকে আবার চেষ্টা করুন।".into(),
        },
        ApiError::MethodNotAllowed => lang
            .t(
                "This page cannot be used that way. Open it from a link of the site.",
                "এই পাতাটি এভাবে ব্যবহার করা যায় না। সাইটের কোনো লিংক থেকে খুলুন।",
            )
            .into(),
        ApiError::Unauthorized => lang
            .t(
                "Your session has ended. Please log in again.",
                "আপনার সেশন শেষ হয়েছে। আবার লগ ইন করুন।",
            )
            .into(),
        ApiError::Forbidden => lang
            .t(
                "Your account does not have the role this needs. Ask an administrator if you need it.",
                "এর জন্য প্রয়োজনীয় ভূমিকা আপনার অ্যাকাউন্টে নেই। প্রয়োজন হলে প্রশাসককে বলুন।",
            )
            .into(),
        ApiError::NotFound => lang.t("Not found.", "পাওয়া যায়নি।").into(),
        ApiError::Unavailable(_) | ApiError::TooManyConnections => lang
            .t(
                "The service is very busy. Please try again in a minute.",
                "সেবাটি এখন খুব ব্যস্ত। এক মিনিট পরে আবার চেষ্টা করুন।",
            )
            .into(),
        ApiError::Internal(_) => lang
            .t(
                "Something went wrong on our side. Please try again.",
                "আমাদের দিকে একটি সমস্যা হয়েছে। আবার চেষ্টা করুন।",
            )
            .into(),
    }
}

/// A wait in seconds as the citizen reads it: two minutes or more (a citizen's
/// submissions) in minutes, rounded up; less in seconds.
pub fn wait_in_units(lang: Lang, secs: i64) -> (i64, &'static str) {
    if secs >= 120 {
        ((secs + 59) / 60, lang.t("minutes", "মিনিট"))
    } else {
        (secs, lang.t("seconds", "সেকেন্ড"))
    }
}

/// The photo form's own words for a body over its limit: there, it is the file.
pub fn photo_too_large_text(lang: Lang) -> &'static str {
    lang.t("The file is too large (at most 2 MiB).", "ফাইলটি খুব বড় (সর্বোচ্চ ২ MiB)।")
}

/// Why a staff page is refused to this account, and whom to ask: the role it needs.
pub fn role_needed_text(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Police | Role::PoliceSupervisor => lang.t(
            "This page is for police officers. Ask an administrator for the police role.",
            "এই পাতাটি পুলিশ কর্মকর্তাদের জন্য। পুলিশ ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        Role::Reviewer => lang.t(
            "This page is for reviewers. Ask an administrator for the reviewer role.",
            "এই পাতাটি যাচাইকারীদের জন্য। যাচাইকারীর ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        Role::Analyst => lang.t(
            "This page is for analysts and administrators. Ask an administrator for the analyst role.",
            "এই পাতাটি বিশ্লেষক ও প্রশাসকদের জন্য। বিশ্লেষকের ভূমিকার জন্য প্রশাসককে বলুন।",
        ),
        Role::Admin => lang.t(
            "This page is for administrators. Ask an administrator for the admin role.",
            "এই পাতাটি প্রশাসকদের জন্য। প্রশাসকের ভূমিকার জন্য একজন প্রশাসককে বলুন।",
        ),
        Role::Citizen => lang.t(
            "This page is for citizens logged in with their mobile number.",
            "এই পাতাটি মোবাইল নম্বর দিয়ে লগ ইন করা নাগরিকদের জন্য।",
        ),
    }
}

/// Logs a failure of ours once, where the web layer handles it (client mistakes are not logged).
pub fn log_failure(err: &ApiError) {
    match err {
        ApiError::Internal(d) => tracing::error!(error = %d, "web.internal_error"),
        ApiError::Unavailable(d) => tracing::warn!(error = %d, "web.unavailable"),
        _ => {}
    }
}

/// The notice a flash code stands for, shown once on the next page.
pub fn flash_text(lang: Lang, code: &str) -> Option<&'static str> {
    Some(match code {
        "profile_saved" => lang.t(
            "Your profile is saved. Add a photo of your face if you have not yet.",
            "আপনার প্রোফাইল সংরক্ষিত হয়েছে। এখনো না দিয়ে থাকলে আপনার মুখের একটি ছবি দিন।",
        ),
        "photo_saved" => lang.t("Your photo is saved.", "আপনার ছবি সংরক্ষিত হয়েছে।"),
        "submitted" => lang.t(
            "Your application was sent. The answer usually comes within seconds; this page updates by itself.",
            "আপনার আবেদন পাঠানো হয়েছে। সাধারণত কয়েক সেকেন্ডেই উত্তর আসে; এই পাতাটি নিজে থেকেই হালনাগাদ হবে।",
        ),
        "cancelled" => lang.t("The application was cancelled.", "আবেদনটি বাতিল করা হয়েছে।"),
        "logged_in" => lang.t("You are logged in.", "আপনি লগ ইন করেছেন।"),
        "answer_sent" => lang.t(
            "Your answer was sent. An official will look at your application again.",
            "আপনার উত্তর পাঠানো হয়েছে। একজন কর্মকর্তা আবার আপনার আবেদনটি দেখবেন।",
        ),
        "review_decided" => lang.t("Decision recorded.", "সিদ্ধান্ত সংরক্ষিত হয়েছে।"),
        "info_asked" => lang.t(
            "Your question was sent to the applicant.",
            "আপনার প্রশ্ন আবেদনকারীকে পাঠানো হয়েছে।",
        ),
        "role_granted" => lang.t("The role was granted.", "ভূমিকাটি দেওয়া হয়েছে।"),
        "role_revoked" => lang.t("The role was revoked.", "ভূমিকাটি প্রত্যাহার করা হয়েছে।"),
        "policy_changed" => lang.t("The new policy is in force.", "নতুন নীতিমালা চালু হয়েছে।"),
        "queue_empty" => lang.t(
            "No application is free to claim right now.",
            "এই মুহূর্তে নেওয়ার মতো কোনো আবেদন নেই।",
        ),
        _ => return None,
    })
}

/// The flash notice of `code` as an announced box, or nothing.
pub fn flash_box(lang: Lang, code: Option<&str>) -> String {
    code.and_then(|c| flash_text(lang, c))
        .map(|t| super::html::notice("ok", t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of each kind the pages may be handed (`problem_text` names every kind, so
    /// the compiler sees to the rest).
    fn every_error() -> Vec<ApiError> {
        vec![
            ApiError::UnsupportedMediaType("application/json"),
            ApiError::PayloadTooLarge,
            ApiError::RequestTimeout,
            ApiError::field("phone", "invalid_phone", "Enter a number.", "নম্বর দিন।"),
            ApiError::BadRequest {
                code: "invalid_query",
                detail: "from must be an RFC 3339 instant.".into(),
            },
            ApiError::Unauthorized,
            ApiError::Forbidden,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::Conflict {
                code: "not_cancellable",
                detail: "No longer cancellable.".into(),
            },
            ApiError::IdempotencyKeyReused,
            ApiError::RateLimited { retry_after: 30 },
            ApiError::Unavailable("pool".into()),
            ApiError::TooManyConnections,
            ApiError::Internal("boom".into()),
        ]
    }

    #[test]
    fn only_a_failure_of_ours_says_it_was_ours() {
        for err in every_error() {
            for lang in [Lang::En, Lang::Bn] {
                let text = problem_text(lang, &err);
                let ours = text.contains("on our side") || text.contains("আমাদের দিকে");
                assert_eq!(
                    ours,
                    matches!(err, ApiError::Internal(_)),
                    "{err:?} in {lang:?}: {text}"
                );
                if err.status().is_client_error() {
                    assert!(!ours, "a 4xx is never ours: {err:?}");
                }
            }
        }
    }

    #[test]
    fn a_missing_role_is_named_in_both_languages() {
        assert!(problem_text(Lang::En, &ApiError::Forbidden).contains("role"));
        assert!(problem_text(Lang::Bn, &ApiError::Forbidden).contains("ভূমিকা"));
        assert!(role_needed_text(Lang::En, Role::Reviewer).contains("reviewer role"));
        assert!(role_needed_text(Lang::Bn, Role::Analyst).contains("বিশ্লেষক"));
    }

    #[test]
    fn an_oversized_form_is_not_called_a_file() {
        let text = problem_text(Lang::En, &ApiError::PayloadTooLarge);
        assert!(text.contains("form is too large") && !text.contains("file"), "{text}");
        assert!(problem_text(Lang::Bn, &ApiError::PayloadTooLarge).contains("ফর্মটি"));
        assert!(photo_too_large_text(Lang::En).contains("file is too large"));
    }
}
