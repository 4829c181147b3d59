//! Information requests (SPEC §6): a reviewer holding the lease asks the applicant a
//! question; the applicant's answer puts the application back in the review queue. Used
//! by the JSON API and the web pages alike.

use mpass_domain::application::{Application, Status};
use mpass_domain::ids::{ApplicationId, MessageId};
use mpass_domain::notify;
use mpass_domain::ports::{DecideOutcome, InfoRequest, NewJob, ReplyOutcome, ThreadMessage};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::{in_reviewers_districts, now_ms};
use crate::state::AppState;

/// Longest message in a thread, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// A message as typed: trimmed, 1 to [`MAX_MESSAGE_CHARS`] characters, no control
/// characters but line breaks.
fn parse_message(field: &str, raw: &str) -> Result<String, ApiError> {
    // A tab pasted from elsewhere is a space; line breaks stay (as `\n`).
    let text = raw.trim().replace("\r\n", "\n").replace('\t', " ");
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::field(
            field,
            "invalid_characters",
            "The message may hold line breaks, but no other control characters.",
            "বার্তায় লাইন বিরতি থাকতে পারে, কিন্তু অন্য কোনো নিয়ন্ত্রণ অক্ষর নয়।",
        ));
    }
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS {
        return Err(ApiError::field(
            field,
            "invalid_message",
            "Write a message of 1 to 1000 characters.",
            "১ থেকে ১০০০ অক্ষরের মধ্যে বার্তা লিখুন।",
        ));
    }
    Ok(text)
}

/// The lease holder asks the applicant `question`. 409 `not_lease_holder` without a lease.
pub(crate) async fn request_info(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
    question: &str,
) -> Result<Application, ApiError> {
    if !caller.has_role("reviewer") {
        return Err(ApiError::Forbidden);
    }
    let question = parse_message("note", question)?;
    let app = in_reviewers_districts(state, caller, id).await?;
    let holder = state
        .store
        .user(app.user_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("applicant of {id} not found")))?;
    let request = InfoRequest {
        application_id: id,
        reviewer: caller.user_id,
        message: MessageId::new(),
        question: question.clone(),
        jobs: vec![NewJob::sms(
            &holder.phone,
            &notify::info_requested(
                crate::service::language_of(state, holder.id).await?,
                &notify::app_ref(id),
                &question,
            ),
        )],
        at: now_ms(),
    };
    match state.store.review_request_info(request).await? {
        DecideOutcome::Decided(app) => {
            state.queue.notify();
            tracing::info!(application.id = %id, reviewer = %caller.user_id, "application.info_requested");
            Ok(app)
        }
        DecideOutcome::NotHolder => Err(ApiError::Conflict {
            code: "not_lease_holder",
            detail: "Claim this application first: you hold no current lease on it.".into(),
        }),
        DecideOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// The applicant answers. 409 `no_information_requested` when nothing is being asked.
pub(crate) async fn reply(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
    body: &str,
) -> Result<Application, ApiError> {
    let body = parse_message("body", body)?;
    match state
        .store
        .info_reply(id, caller.user_id, MessageId::new(), &body, now_ms())
        .await?
    {
        ReplyOutcome::Replied(app) => {
            tracing::info!(application.id = %id, "application.info_provided");
            Ok(app)
        }
        ReplyOutcome::NotWaiting(_) => Err(ApiError::Conflict {
            code: "no_information_requested",
            detail: "No information is being asked for on this application.".into(),
        }),
        ReplyOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// Whether the caller may read the application's thread: its owner, a reviewer of its
/// district, or an admin.
pub(crate) fn may_read(caller: &Caller, app: &Application) -> bool {
    if app.user_id == caller.user_id || caller.has_role("admin") {
        return true;
    }
    mpass_domain::geo::areas()
        .district_of(&app.details.from.area)
        .is_some_and(|d| caller.reviews_district(&d.code))
}

/// The application and its thread, for those who may read it; 404 for anyone else.
pub(crate) async fn thread(
    state: &AppState,
    caller: &Caller,
    id: ApplicationId,
) -> Result<(Application, Vec<ThreadMessage>), ApiError> {
    let app = state.store.application(id).await?.ok_or(ApiError::NotFound)?;
    if !may_read(caller, &app) {
        return Err(ApiError::NotFound);
    }
    let messages = state.store.thread(id).await?;
    Ok((app, messages))
}

/// Whether the applicant is being asked something now.
pub(crate) fn awaiting_answer(app: &Application) -> bool {
    app.status == Status::InfoRequested
}

#[cfg(test)]
mod tests {
    use super::parse_message;
    use crate::error::ApiError;

    fn code(r: Result<String, ApiError>) -> &'static str {
        match r {
            Err(ApiError::Validation(e)) => e.0[0].code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_keep_line_breaks_and_turn_tabs_into_spaces() {
        assert_eq!(
            parse_message("body", " hello\tworld\r\nbye ").unwrap(),
            "hello world\nbye"
        );
        assert_eq!(code(parse_message("body", "bell\u{7}")), "invalid_characters");
        assert_eq!(code(parse_message("body", "  ")), "invalid_message");
        assert_eq!(code(parse_message("body", &"x".repeat(1001))), "invalid_message");
        assert_eq!(parse_message("body", &"অ".repeat(1000)).unwrap().chars().count(), 1000);
    }
}
