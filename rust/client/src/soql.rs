//! Building SOQL safely: values are quoted and escaped, so user input stays a literal and can
//! never change the query's shape.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// A value to put into a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SoqlValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A decimal kept as its text (already validated as a number).
    Decimal(String),
    Str(String),
    /// `YYYY-MM-DD`, written unquoted.
    Date(String),
    /// `YYYY-MM-DDThh:mm:ssZ` in UTC, written unquoted.
    DateTime(String),
    /// For IN and NOT IN: `(a, b, c)`.
    List(Vec<SoqlValue>),
}

/// Quotes a string literal: backslash, quotes and control characters escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

impl SoqlValue {
    pub fn render(&self) -> Result<String> {
        Ok(match self {
            SoqlValue::Null => "null".to_owned(),
            SoqlValue::Bool(b) => b.to_string(),
            SoqlValue::Int(i) => i.to_string(),
            SoqlValue::Float(f) if f.is_finite() => format!("{f:?}"),
            SoqlValue::Float(_) => {
                return Err(Error::invalid_argument(
                    "value",
                    "NaN and infinity have no SOQL form",
                ))
            }
            SoqlValue::Decimal(d) => d.clone(),
            SoqlValue::Str(s) => quote(s),
            SoqlValue::Date(d) | SoqlValue::DateTime(d) => d.clone(),
            SoqlValue::List(items) => {
                if items.is_empty() {
                    return Err(Error::invalid_argument(
                        "value",
                        "an empty list has no SOQL form (IN needs at least one value)",
                    ));
                }
                let parts = items.iter().map(|v| match v {
                    SoqlValue::List(_) => {
                        Err(Error::invalid_argument("value", "lists cannot nest"))
                    }
                    other => other.render(),
                });
                format!("({})", parts.collect::<Result<Vec<_>>>()?.join(", "))
            }
        })
    }
}

/// Fills `{}` (in order) and `{name}` placeholders with quoted values; `{{` and `}}` are braces.
pub fn format_soql(
    template: &str,
    positional: &[SoqlValue],
    named: &HashMap<String, SoqlValue>,
) -> Result<String> {
    fill(template, positional, named, SoqlValue::render)
}

/// SOSL's reserved characters, escaped with a backslash in a search term.
const SOSL_RESERVED: &[char] = &[
    '?', '&', '|', '!', '{', '}', '[', ']', '(', ')', '^', '~', '*', ':', '\\', '"', '\'', '+', '-',
];

/// A search term for `FIND {...}`: SOSL's reserved characters escaped, so user input is searched
/// for as typed and cannot end the term or add operators.
pub fn escape_sosl(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 8);
    for c in term.chars() {
        if SOSL_RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds a SOSL search: each placeholder becomes a search term, escaped with [`escape_sosl`]
/// (numbers as written). Write the FIND braces doubled: `FIND {{{}}} RETURNING Account(Name)`.
pub fn format_sosl(
    template: &str,
    positional: &[SoqlValue],
    named: &HashMap<String, SoqlValue>,
) -> Result<String> {
    fill(template, positional, named, |value| match value {
        SoqlValue::Str(s) => Ok(escape_sosl(s)),
        SoqlValue::Int(i) => Ok(i.to_string()),
        SoqlValue::Decimal(d) => Ok(escape_sosl(d)),
        SoqlValue::Float(f) if f.is_finite() => Ok(escape_sosl(&format!("{f:?}"))),
        _ => Err(Error::invalid_argument(
            "value",
            "a search term is a string or a number",
        )),
    })
}

/// Fills a template's `{}`, `{0}` and `{name}` placeholders with rendered values; `{{` and `}}`
/// are literal braces.
fn fill(
    template: &str,
    positional: &[SoqlValue],
    named: &HashMap<String, SoqlValue>,
    render: impl Fn(&SoqlValue) -> Result<String>,
) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => {
                            return Err(Error::invalid_argument(
                                "template",
                                "a '{' has no closing '}'",
                            ))
                        }
                    }
                }
                let value = if name.is_empty() {
                    let v = positional.get(next).ok_or_else(|| {
                        Error::invalid_argument(
                            "args",
                            format!("placeholder {} has no value", next + 1),
                        )
                    })?;
                    next += 1;
                    v
                } else if let Ok(index) = name.parse::<usize>() {
                    positional.get(index).ok_or_else(|| {
                        Error::invalid_argument("args", format!("no value for {{{index}}}"))
                    })?
                } else {
                    named.get(&name).ok_or_else(|| {
                        Error::invalid_argument("kwargs", format!("no value for {{{name}}}"))
                    })?
                };
                out.push_str(&render(value)?);
            }
            '}' => {
                return Err(Error::invalid_argument(
                    "template",
                    "a '}' has no opening '{' (write '}}')",
                ))
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sosl_terms_are_escaped() {
        let q = format_sosl(
            "FIND {{{}}} IN NAME FIELDS RETURNING Account(Name)",
            &[SoqlValue::Str("Acme & Co} RETURNING User(Id".into())],
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(
            q,
            "FIND {Acme \\& Co\\} RETURNING User\\(Id} IN NAME FIELDS RETURNING Account(Name)"
        );
        assert!(format_sosl("FIND {{{}}}", &[SoqlValue::Bool(true)], &HashMap::new()).is_err());
    }

    #[test]
    fn values_stay_literals() {
        let q = format_soql(
            "SELECT Id FROM Account WHERE Name = {} AND Id IN {} AND CreatedDate > {when} LIMIT {{2}}",
            &[SoqlValue::Str("x' OR Name != '".into()), SoqlValue::List(vec![SoqlValue::Str("a".into()), SoqlValue::Str("b".into())])],
            &HashMap::from([("when".to_owned(), SoqlValue::DateTime("2026-01-01T00:00:00Z".into()))]),
        )
        .unwrap();
        assert_eq!(q, "SELECT Id FROM Account WHERE Name = 'x\\' OR Name != \\'' AND Id IN ('a', 'b') AND CreatedDate > 2026-01-01T00:00:00Z LIMIT {2}");
        assert_eq!(quote("back\\slash\nline"), "'back\\\\slash\\nline'");
        assert!(format_soql("{}", &[], &HashMap::new()).is_err());
        assert!(format_soql("{}", &[SoqlValue::List(vec![])], &HashMap::new()).is_err());
    }

    #[test]
    fn every_value_kind_renders_or_is_refused() {
        let none = HashMap::new();
        let soql = format_soql(
            "{} {} {} {} {} {} {} {}",
            &[
                SoqlValue::Null,
                SoqlValue::Bool(true),
                SoqlValue::Int(-3),
                SoqlValue::Float(0.5),
                SoqlValue::Decimal("12.50".into()),
                SoqlValue::Str("a\\b'c\"d\ne\rf\tg\u{8}h\u{c}".into()),
                SoqlValue::Date("2026-12-06".into()),
                SoqlValue::List(vec![SoqlValue::Int(1), SoqlValue::Str("x".into())]),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(
            soql,
            "null true -3 0.5 12.50 'a\\\\b\\'c\\\"d\\ne\\rf\\tg\\bh\\f' 2026-12-06 (1, 'x')"
        );
        for bad in [
            SoqlValue::Float(f64::NAN),
            SoqlValue::List(vec![]),
            SoqlValue::List(vec![SoqlValue::List(vec![SoqlValue::Int(1)])]),
        ] {
            assert!(matches!(
                format_soql("{}", &[bad], &none),
                Err(Error::InvalidArgument { .. })
            ));
        }
    }

    #[test]
    fn templates_are_checked_and_search_terms_escaped() {
        let none = HashMap::new();
        let named: HashMap<String, SoqlValue> =
            [("name".to_owned(), SoqlValue::Str("Ann".into()))].into();
        assert_eq!(
            format_soql(
                "{{{1}}} {0} {name}",
                &[SoqlValue::Int(7), SoqlValue::Int(8)],
                &named
            )
            .unwrap(),
            "{8} 7 'Ann'"
        );
        for (template, argument) in [
            ("{", "template"),
            ("}", "template"),
            ("{}", "args"),
            ("{3}", "args"),
            ("{missing}", "kwargs"),
        ] {
            match format_soql(template, &[], &none) {
                Err(Error::InvalidArgument { argument: a, .. }) => assert_eq!(a, argument),
                other => panic!("{template}: {other:?}"),
            }
        }
        let sosl = format_sosl(
            "FIND {{{}}} {} {} {}",
            &[
                SoqlValue::Str("a-b".into()),
                SoqlValue::Int(5),
                SoqlValue::Decimal("1.5".into()),
                SoqlValue::Float(2.5),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(
            sosl,
            format!(
                "FIND {{{}}} 5 {} {}",
                escape_sosl("a-b"),
                escape_sosl("1.5"),
                escape_sosl("2.5")
            )
        );
        assert!(matches!(
            format_sosl("{}", &[SoqlValue::Bool(true)], &none),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
