//! Validation errors that name each bad field, in English and Bangla.

use serde::Serialize;

/// One problem with one input field. `code` is stable; clients may switch on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
    pub message_bn: String,
}

/// Every problem found in one input, so the citizen can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, code: &'static str, en: impl Into<String>, bn: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            code,
            message: en.into(),
            message_bn: bn.into(),
        });
    }

    /// Records that a required field is missing.
    pub fn missing(&mut self, field: impl Into<String>) {
        self.add(field, "required", "This field is required.", "এই তথ্যটি আবশ্যক।");
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, otherwise the collected errors.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() { Ok(value()) } else { Err(self) }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.0.iter().map(|e| e.field.as_str()).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Bangla digits for numbers shown on Bangla pages and messages.
pub fn bangla_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x09E6 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// What a caught panic said (its `&str` or `String` payload), for a log line or an error.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
