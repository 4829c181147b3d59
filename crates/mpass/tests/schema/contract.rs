//! The OpenAPI document as a contract the tests hold the server to: each success answer
//! is checked against the schema the document gives for its operation and status code.

use std::collections::BTreeSet;
use std::sync::Mutex;

use mpass_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::Value;

/// The document as the server serves it, and the answers checked against it so far.
pub struct Contract {
    doc: Value,
    /// `METHOD /template STATUS` of every JSON answer validated.
    checked: Mutex<BTreeSet<String>>,
}

impl Contract {
    /// Reads the document from the server (checking that answer against itself too).
    pub async fn of(anon: &Client) -> Contract {
        let res = anon
            .raw(Method::GET, "/api/openapi.json", None, Vec::new())
            .await
            .expect("GET /api/openapi.json");
        let doc: Value = serde_json::from_slice(&res.body).expect("the document is JSON");
        let contract = Contract {
            doc,
            checked: Mutex::new(BTreeSet::new()),
        };
        contract.check(&Method::GET, "/api/openapi.json", &res);
        contract
    }

    /// Sends `body` (JSON) as `who` and checks the answer; the parsed JSON body, or `Null`
    /// for an answer in another media type.
    pub async fn call(&self, who: &Client, method: Method, path: &str, body: Option<Value>) -> Value {
        let (ct, bytes) = match body {
            Some(b) => (Some("application/json"), serde_json::to_vec(&b).expect("serialises")),
            None => (None, Vec::new()),
        };
        let res = who
            .raw(method.clone(), path, ct, bytes)
            .await
            .expect("the request is answered");
        self.check(&method, path, &res)
    }

    /// The documented path template `path` (query left out) is an instance of; literal
    /// segments win over `{parameters}`.
    fn template(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for template in self.doc["paths"].as_object().expect("paths").keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let fits = parts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s);
            let params = parts.iter().filter(|t| t.starts_with('{')).count();
            if fits && best.is_none_or(|(p, _)| params < p) {
                best = Some((params, template));
            }
        }
        best.unwrap_or_else(|| panic!("{path} is not a path of the document"))
            .1
            .clone()
    }

    /// Checks a success answer against the document: its status and media type must be
    /// documented and a JSON body must match the schema given for them.
    #[track_caller]
    pub fn check(&self, method: &Method, path: &str, res: &RawResponse) -> Value {
        let template = self.template(path);
        let op = format!("{method} {template}");
        let status = res.status.as_u16();
        let body = String::from_utf8_lossy(&res.body);
        assert!(res.status.is_success(), "{op} ({path}) answered {status}: {body}");
        let response =
            &self.doc["paths"][&template][method.as_str().to_ascii_lowercase()]["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{op} answered {status}, which the document does not list"
        );
        let ct = res
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        if ct.is_empty() {
            assert!(
                res.body.is_empty(),
                "{op} {status} answered a body without a content type: {body}"
            );
            assert!(
                response.get("content").is_none(),
                "{op} {status} is documented with a body but had none"
            );
            return Value::Null;
        }
        let Some(media) = response["content"].get(&ct) else {
            panic!(
                "{op} {status} answered {ct}, which the document does not list: {}",
                response["content"]
            );
        };
        if ct != "application/json" {
            return Value::Null;
        }
        let Some(schema) = media.get("schema") else {
            panic!("{op} {status} answers JSON but the document gives no schema for it");
        };
        let value: Value = serde_json::from_slice(&res.body)
            .unwrap_or_else(|e| panic!("{op} {status} answered JSON that does not parse ({e}): {body}"));
        let errors = super::errors(&self.doc, schema, &value, "");
        assert!(
            errors.is_empty(),
            "{op} {status} ({path}) does not match the document:\n  {}\nbody: {body}",
            errors.join("\n  ")
        );
        self.checked.lock().expect("lock").insert(format!("{op} {status}"));
        value
    }

    /// Every `METHOD /template STATUS` whose documented answer is JSON.
    pub fn json_answers(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (path, ops) in self.doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                for (status, res) in op["responses"].as_object().into_iter().flatten() {
                    if status.starts_with('2') && res["content"].get("application/json").is_some() {
                        out.insert(format!("{} {path} {status}", method.to_ascii_uppercase()));
                    }
                }
            }
        }
        out
    }

    pub fn checked(&self) -> BTreeSet<String> {
        self.checked.lock().expect("lock").clone()
    }
}
