//! `GET /search?q=FIND {...}`: SOSL over the org's records. The term is matched, case-insensitive,
//! against every text value of a record (`*` matches any run of characters, `?` one; quotes and
//! escapes as Salesforce reads them); each RETURNING object's fields, WHERE, ORDER BY and LIMIT
//! are run by the SOQL engine. What is not served (IN a field group other than ALL, NAME,
//! EMAIL or PHONE FIELDS; WITH clauses) answers Salesforce's error shape.

use crate::http_kit::failure::ApiFailure;
use crate::model::store::Store;
use crate::soql::parse::parse;
use crate::soql::{render, run, Outcome};
use serde_json::{json, Value};

/// One `Object(fields WHERE ... ORDER BY ... LIMIT n)` of RETURNING.
#[derive(Debug, Clone, PartialEq)]
struct Returning {
    object: String,
    /// The text between the parentheses; empty for just `Object`.
    clause: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Search {
    term: String,
    returning: Vec<Returning>,
    limit: Option<usize>,
}

fn malformed(message: impl Into<String>) -> ApiFailure {
    ApiFailure::bad_request("MALFORMED_SEARCH", message)
}

/// Splits `FIND {term} [IN X FIELDS] [RETURNING ...] [LIMIT n]`.
fn parse_search(sosl: &str) -> Result<Search, ApiFailure> {
    let text = sosl.trim();
    let rest = text
        .get(..4)
        .filter(|f| f.eq_ignore_ascii_case("FIND"))
        .map(|_| text[4..].trim_start())
        .ok_or_else(|| {
            malformed("No search term found. The search term must be enclosed in braces.")
        })?;
    let (term, rest) = braced_term(rest)?;
    let mut words = rest.trim();
    if let Some(after_in) = strip_keyword(words, "IN") {
        let (group, after_group) = after_in
            .split_once(char::is_whitespace)
            .unwrap_or((after_in, ""));
        if !["ALL", "NAME", "EMAIL", "PHONE"]
            .iter()
            .any(|g| g.eq_ignore_ascii_case(group))
        {
            return Err(malformed(format!("unexpected token: {group}")));
        }
        words =
            strip_keyword(after_group, "FIELDS").ok_or_else(|| malformed("expecting FIELDS"))?;
    }
    let mut limit = None;
    let mut returning = Vec::new();
    if let Some(list) = strip_keyword(words, "RETURNING") {
        let (items, tail) = split_returning(list)?;
        returning = items;
        words = tail;
    }
    if let Some(n) = strip_keyword(words, "LIMIT") {
        let (number, tail) = n.split_once(char::is_whitespace).unwrap_or((n, ""));
        limit = Some(
            number
                .parse()
                .map_err(|_| malformed(format!("unexpected token: {number}")))?,
        );
        words = tail.trim();
    }
    if !words.is_empty() {
        return Err(malformed(format!(
            "unexpected token: {}",
            words.split_whitespace().next().unwrap_or(words)
        )));
    }
    Ok(Search {
        term,
        returning,
        limit,
    })
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let after = &text[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword)
        && (after.is_empty() || after.starts_with(char::is_whitespace)))
    .then(|| after.trim_start())
}

/// The term between `{` and the matching unescaped `}`, with escapes removed.
fn braced_term(text: &str) -> Result<(String, &str), ApiFailure> {
    let body = text.strip_prefix('{').ok_or_else(|| {
        malformed("No search term found. The search term must be enclosed in braces.")
    })?;
    let mut term = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    term.push('\\');
                    term.push(escaped);
                }
            }
            '}' => return Ok((term, &body[i + 1..])),
            other => term.push(other),
        }
    }
    Err(malformed("the search term has no closing brace"))
}

/// `Account(Id, Name WHERE ...), Contact` up to a top-level keyword.
fn split_returning(text: &str) -> Result<(Vec<Returning>, &str), ApiFailure> {
    let mut items = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let end = rest
            .find(|c: char| c == '(' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let object = rest[..end].to_owned();
        if object.is_empty() {
            return Err(malformed("expecting an object name after RETURNING"));
        }
        rest = rest[end..].trim_start();
        let mut clause = String::new();
        if let Some(inner) = rest.strip_prefix('(') {
            let mut depth = 1;
            let mut close = None;
            for (i, c) in inner.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let close = close.ok_or_else(|| malformed(format!("unclosed ( after {object}")))?;
            clause = inner[..close].trim().to_owned();
            rest = inner[close + 1..].trim_start();
        }
        items.push(Returning { object, clause });
        match rest.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None => return Ok((items, rest)),
        }
    }
}

/// The SOQL a RETURNING item runs: its fields (Id when none), WHERE and ORDER BY; its LIMIT
/// apart, applied after matching.
fn soql_of(item: &Returning) -> (String, Option<usize>) {
    let upper = item.clause.to_ascii_uppercase();
    let cut = ["WHERE", "ORDER BY", "LIMIT"]
        .iter()
        .filter_map(|k| {
            upper
                .find(&format!(" {k} "))
                .or_else(|| upper.starts_with(k).then_some(0))
        })
        .min()
        .unwrap_or(item.clause.len());
    let fields = item.clause[..cut].trim();
    let fields = if fields.is_empty() { "Id" } else { fields };
    let mut tail = item.clause[cut..].to_owned();
    let mut limit = None;
    if let Some(at) = tail.to_ascii_uppercase().find("LIMIT ") {
        limit = tail[at + 6..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok());
        tail.truncate(at);
    }
    (
        format!("SELECT {fields} FROM {} {}", item.object, tail.trim()),
        limit,
    )
}

/// Whether `value` matches `pattern` (lower case, `*` and `?` wildcards, `\x` literal).
fn wildcard(pattern: &[char], value: &[char]) -> bool {
    match pattern.first() {
        None => true, // a term matches where it occurs: what follows is free
        Some('*') => (0..=value.len()).any(|i| wildcard(&pattern[1..], &value[i..])),
        Some('?') => !value.is_empty() && wildcard(&pattern[1..], &value[1..]),
        Some('\\') if pattern.len() > 1 => {
            value.first() == Some(&pattern[1]) && wildcard(&pattern[2..], &value[1..])
        }
        Some(c) => value.first() == Some(c) && wildcard(&pattern[1..], &value[1..]),
    }
}

fn contains(text: &str, pattern: &[char]) -> bool {
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    (0..chars.len()).any(|start| wildcard(pattern, &chars[start..]))
}

/// Answers a SOSL search.
pub fn search(store: &Store, sosl: &str, version: &str) -> Result<Value, ApiFailure> {
    let parsed = parse_search(sosl)?;
    let term = parsed.term.trim().trim_matches('"').to_lowercase();
    if term.replace(['*', '?'], "").chars().count() < 2 {
        return Err(malformed("search term must be longer than one character"));
    }
    let pattern: Vec<char> = term.chars().collect();
    let returning = if parsed.returning.is_empty() {
        ["Account", "Contact", "Lead", "Opportunity", "Case"]
            .iter()
            .map(|o| Returning {
                object: (*o).to_owned(),
                clause: String::new(),
            })
            .collect()
    } else {
        parsed.returning
    };
    let mut found = Vec::new();
    for item in &returning {
        let (soql, item_limit) = soql_of(item);
        let query = parse(&soql)?;
        let Outcome::Rows {
            object,
            ids,
            columns,
            ..
        } = run(store, &soql, &query, false)?
        else {
            return Err(malformed(format!(
                "{} cannot be counted or aggregated in a search",
                item.object
            )));
        };
        let records = store.object(&object)?;
        let matching = ids.into_iter().filter(|id| {
            records.records.get(id.as_str()).is_some_and(|r| {
                r.fields
                    .iter()
                    .any(|(_, v)| v.as_str().is_some_and(|s| contains(s, &pattern)))
            })
        });
        for id in matching.take(item_limit.unwrap_or(usize::MAX)) {
            found.push(render(store, &object, &id, &columns, version));
        }
    }
    found.truncate(parsed.limit.unwrap_or(2000));
    Ok(json!({ "searchRecords": found }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_terms_groups_and_returning() {
        let s = parse_search(r"FIND {Acme \& Co} IN NAME FIELDS RETURNING Account(Id, Name WHERE Industry = 'Energy' LIMIT 2), Contact LIMIT 5").unwrap();
        assert_eq!(s.term, r"Acme \& Co");
        assert_eq!(s.returning.len(), 2);
        assert_eq!(
            s.returning[1],
            Returning {
                object: "Contact".into(),
                clause: String::new()
            }
        );
        assert_eq!(s.limit, Some(5));
        let (soql, limit) = soql_of(&s.returning[0]);
        assert_eq!(
            soql,
            "SELECT Id, Name FROM Account WHERE Industry = 'Energy'"
        );
        assert_eq!(limit, Some(2));
        assert!(parse_search("FIND Acme").is_err());
        assert!(parse_search("FIND {Acme} IN BODY FIELDS").is_err());
    }

    #[test]
    fn wildcards_and_escapes_match() {
        let p = |s: &str| s.to_lowercase().chars().collect::<Vec<_>>();
        assert!(contains("Acme Corporation", &p("acme")));
        assert!(contains("Acme Corporation", &p("corp*")));
        assert!(contains("Acme & Co", &p(r"acme \& co")));
        assert!(!contains("Globex", &p("acme")));
        assert!(contains("Smith", &p("sm?th")));
    }
}
