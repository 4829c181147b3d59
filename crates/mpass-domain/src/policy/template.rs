//! Message templates with `{placeholder}`s, checked when the policy loads.

use std::fmt::Write as _;

/// A message template whose placeholders were checked against the names a rule provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(String);

/// One placeholder value, in English and in Bangla.
pub(crate) struct Var {
    name: &'static str,
    en: String,
    bn: String,
}

impl Var {
    /// A number: ASCII digits in English, Bangla digits (০-৯) in Bangla.
    pub(crate) fn num(name: &'static str, value: impl ToString) -> Self {
        Self::code(name, &value.to_string())
    }

    /// A code such as a time or a geocode: the same text, digits localised in Bangla.
    pub(crate) fn code(name: &'static str, value: &str) -> Self {
        Self {
            name,
            en: value.to_owned(),
            bn: bangla_digits(value),
        }
    }

    /// Text that differs per language, e.g. a category label.
    pub(crate) fn text(name: &'static str, en: String, bn: String) -> Self {
        Self { name, en, bn }
    }
}

/// Which language to render a template in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lang {
    En,
    Bn,
}

impl Template {
    /// Parses `text`, accepting only the placeholders in `allowed`.
    ///
    /// The error is a human sentence; the caller adds the key it came from.
    pub(crate) fn parse(text: &str, allowed: &[&str]) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("must not be empty".into());
        }
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("has a `}` without a matching `{`".into());
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "has a `{` without a matching `}`".to_owned())?;
            let name = &after[..close];
            if !allowed.contains(&name) {
                return Err(if allowed.is_empty() {
                    format!("uses the placeholder {{{name}}}, but this message takes none")
                } else {
                    let list = allowed.iter().fold(String::new(), |mut acc, a| {
                        if !acc.is_empty() {
                            acc.push_str(", ");
                        }
                        let _ = write!(acc, "{{{a}}}");
                        acc
                    });
                    format!("uses the unknown placeholder {{{name}}}; available here: {list}")
                });
            }
            rest = &after[close + 1..];
        }
        Ok(Self(text.to_owned()))
    }

    /// Renders the template, replacing each placeholder with its value in `lang`.
    pub(crate) fn render(&self, lang: Lang, vars: &[Var]) -> String {
        let mut out = String::with_capacity(self.0.len() + 16);
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                break;
            };
            let name = &after[..close];
            match vars.iter().find(|v| v.name == name) {
                Some(v) => out.push_str(match lang {
                    Lang::En => &v.en,
                    Lang::Bn => &v.bn,
                }),
                // Parsing guarantees every placeholder is known; keep it visible if not.
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Replaces ASCII digits with Bangla digits (০-৯), leaving everything else alone.
pub(crate) fn bangla_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x09E6 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangla_digits_replace_only_ascii_digits() {
        assert_eq!(bangla_digits("22:05 x7"), "২২:০৫ x৭");
    }

    #[test]
    fn renders_placeholders_per_language() {
        let t = Template::parse("max {n} in {d} days", &["n", "d"]).unwrap();
        let vars = [Var::num("n", 7), Var::num("d", 10)];
        assert_eq!(t.render(Lang::En, &vars), "max 7 in 10 days");
        assert_eq!(t.render(Lang::Bn, &vars), "max ৭ in ১০ days");
    }

    #[test]
    fn rejects_unknown_or_unbalanced_placeholders() {
        assert!(Template::parse("{nope}", &["n"]).unwrap_err().contains("{nope}"));
        assert!(Template::parse("a { b", &["n"]).is_err());
        assert!(Template::parse("a } b", &["n"]).is_err());
        assert!(Template::parse("  ", &[]).is_err());
    }
}
