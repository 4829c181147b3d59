//! The two languages of the web pages. The language type and its number and date
//! formatting live in the domain (`mpass_domain::language`), shared with the SMS
//! templates; the pages know it as `Lang`.

pub use mpass_domain::language::{Language as Lang, dhaka};
