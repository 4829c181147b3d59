//! Form bodies: `application/x-www-form-urlencoded` fields and a small `multipart/form-data`
//! reader for the photo upload, both checked for the session's CSRF token.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::session::Session;
use crate::error::ApiError;
use crate::state::AppState;

/// A form's body, read whole within the route's limit.
///
/// axum's own `Bytes` answers a body it cannot read in plain English text: a citizen whose
/// phone's photo was over the limit saw only "Failed to buffer the request body: length
/// limit exceeded". This answers with a page in the session's language instead: 413 for a
/// body over the limit, 408 for one that stalled (`listener::SlowBody`), 400 for a broken
/// one.
pub struct FormBody(pub Bytes);

/// Why a form's body could not be read, and the session to show that in.
pub struct BodyRejection {
    pub err: ApiError,
    session: Option<Session>,
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        match &self.session {
            Some(session) => super::error_page(session, &self.err),
            None => self.err.into_response(),
        }
    }
}

impl FromRequest<AppState> for FormBody {
    type Rejection = BodyRejection;

    async fn from_request(mut req: Request, state: &AppState) -> Result<Self, BodyRejection> {
        // The handler's `Session` extractor ran first and left a copy for this.
        let session = req.extensions_mut().remove::<Session>();
        crate::extract::body_bytes(req, state)
            .await
            .map(FormBody)
            .map_err(|err| BodyRejection { err, session })
    }
}

/// The fields of a submitted form, in order.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Parses an urlencoded body (`+` is a space; bad escapes are kept literally).
    pub fn parse(body: &[u8]) -> Fields {
        let mut out = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            out.push((decode(k), decode(v)));
        }
        Fields(out)
    }

    /// The trimmed value of `name`; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name` as an owned string, blank when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_string()
    }

    /// Whether a checkbox called `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex_val(raw[i + 1]), hex_val(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One part of a multipart body.
pub struct Part {
    pub name: String,
    pub data: Bytes,
}

/// Splits a `multipart/form-data` body into its parts; `None` if it is not one.
pub fn multipart(headers: &HeaderMap, body: &Bytes) -> Option<Vec<Part>> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data") {
        return None;
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))?;
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        let start = pos + 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", start)?;
        let head = std::str::from_utf8(body.get(start..head_end)?).ok()?;
        let data_start = head_end + 4;
        let next = find(body, delim, data_start)?;
        let data_end = next.checked_sub(2)?; // CRLF before the delimiter
        let mut name = None;
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = v
                    .split(';')
                    .filter_map(|p| p.trim().split_once('='))
                    .find(|(k, _)| *k == "name")
                    .map(|(_, v)| v.trim_matches('"').to_string());
            }
        }
        parts.push(Part {
            name: name?,
            data: body.slice(data_start..data_end.max(data_start)),
        });
        pos = next + delim.len();
    }
    Some(parts)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_fields_decode() {
        let f = Fields::parse(b"name=Rahima+Akter&x=%E0%A6%95&empty=&bad=%zz&csrf=ab");
        assert_eq!(f.get("name"), Some("Rahima Akter"));
        assert_eq!(f.get("x"), Some("ক"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("bad"), Some("%zz"));
    }

    #[test]
    fn multipart_parts_split() {
        let body = Bytes::from_static(
            b"--XX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XX\r\n\
              Content-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XX--\r\n",
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XX".parse().unwrap(),
        );
        let parts = multipart(&h, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&parts[0].data[..], b"abc");
        assert_eq!(parts[1].name, "photo");
        assert_eq!(&parts[1].data[..], b"\x89PNG");
    }
}
