//! The home page: what the pass is for, how to get one, and the rules in force, taken
//! from the policy itself so the page never disagrees with the decisions.

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::html::{Page, esc};
use super::rules;
use super::session::Session;
use crate::state::AppState;

/// `GET /`.
pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    let l = session.lang;
    let policy = state.policy();
    let mut b = String::new();
    let _ = write!(
        b,
        "<p>{}</p>",
        l.t(
            "During the lockdown you need a movement pass to travel for an essential reason. \
             It is free. Police check it at checkpoints by scanning its QR code.",
            "লকডাউনের সময় জরুরি প্রয়োজনে চলাচলের জন্য মুভমেন্ট পাস লাগবে। এটি বিনামূল্যে। \
             চেকপোস্টে পুলিশ পাসের কিউআর কোড স্ক্যান করে যাচাই করবে।"
        )
    );
    let start = if session.user.is_some() { "/apply" } else { "/login" };
    let _ = write!(
        b,
        "<p><a class=\"button\" href=\"{start}\">{}</a></p><h2>{}</h2><ol class=\"steps\">",
        l.t("Get a movement pass", "মুভমেন্ট পাস নিন"),
        l.t("How to apply", "কীভাবে আবেদন করবেন"),
    );
    for (en, bn) in [
        (
            "Log in with your mobile number. We send you a 6-digit code by SMS.",
            "আপনার মোবাইল নম্বর দিয়ে লগ ইন করুন। আমরা এসএমএসে ৬ অঙ্কের একটি কোড পাঠাব।",
        ),
        (
            "Fill in your profile once: name, date of birth, identity document, home thana and a photo.",
            "একবার প্রোফাইল পূরণ করুন: নাম, জন্মতারিখ, পরিচয়পত্র, নিজ থানা ও একটি ছবি।",
        ),
        (
            "Apply: say why, from where to where, when and for how long.",
            "আবেদন করুন: কেন, কোথা থেকে কোথায়, কখন ও কতক্ষণের জন্য যাবেন তা লিখুন।",
        ),
        (
            "Most answers come within seconds. Show the pass on your phone or print it.",
            "বেশিরভাগ উত্তর কয়েক সেকেন্ডেই আসে। পাসটি ফোনে দেখান বা প্রিন্ট করুন।",
        ),
    ] {
        let _ = write!(b, "<li>{}</li>", l.pick(en, bn));
    }
    let _ = write!(
        b,
        "</ol><h2>{}</h2><p>{}</p><ul>",
        l.t("Reasons you may travel for", "যেসব কারণে চলাচল করা যাবে"),
        l.t(
            "Choose the one that fits your trip:",
            "আপনার যাত্রার সাথে মেলে এমন একটি বেছে নিন:"
        ),
    );
    for c in policy.categories() {
        let _ = write!(b, "<li>{}</li>", esc(l.pick(&c.label_en, &c.label_bn)));
    }
    let _ = write!(
        b,
        "</ul><h2>{}</h2><p>{}</p><ul>",
        l.t("Current rules", "বর্তমান নিয়ম"),
        l.t(
            "An application is refused, or checked by an official, when one of these applies:",
            "নিচের কোনোটি প্রযোজ্য হলে আবেদন নামঞ্জুর হয় বা একজন কর্মকর্তা তা যাচাই করেন:"
        )
    );
    for rule in rules::rules_in_force(&policy).iter() {
        let _ = write!(b, "<li>{}</li>", esc(&rule.text(l)));
    }
    let _ = write!(
        b,
        "</ul><p class=\"hint\">{} {}</p>",
        l.t("Rules in force:", "প্রযোজ্য নীতিমালা:"),
        esc(policy.version())
    );
    let title = l.t("Movement pass", "মুভমেন্ট পাস");
    Page::new(&session, "/", title, b).into_response()
}
