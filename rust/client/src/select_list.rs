//! What a SOQL query's SELECT list names, read without a full parser: the FROM object and each
//! item, a field path or an aggregate (with its column name). Typed reads use it to plan their
//! columns before any call.

/// What a SOQL query's SELECT list names, read without a full parser: the main object and,
/// for each item, a field path or an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SelectList {
    pub object: String,
    pub items: Vec<SelectItem>,
    /// An aggregate query (an aggregate or GROUP BY): its rows are AggregateResults, which
    /// name a grouped parent field by the field alone (`Account.Name` comes back as `Name`).
    pub grouped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectItem {
    /// `Name`, `Account.Owner.Name`.
    Path(String),
    /// `COUNT(Id) total`: the function, its argument and the column's name (the alias, or
    /// `exprN` in the order of unaliased aggregates).
    Aggregate {
        function: String,
        argument: String,
        name: String,
    },
    /// Anything else (`FIELDS(ALL)`, `TYPEOF`, a subquery): columns come from the records.
    Other,
}

/// The byte offsets of `text` outside quoted strings and parentheses, in order.
fn top_level(text: &str) -> impl Iterator<Item = usize> + '_ {
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    text.bytes().enumerate().filter_map(move |(i, c)| {
        match c {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 => return Some(i),
            _ => {}
        }
        None
    })
}

/// Splits `text` at top-level commas.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in top_level(text).filter(|&i| text.as_bytes()[i] == b',') {
        parts.push(&text[start..i]);
        start = i + 1;
    }
    parts.push(&text[start..]);
    parts
}

/// The byte offset of the first top-level occurrence of the keyword `word`.
fn find_keyword(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let boundary = |j: usize| {
        bytes
            .get(j)
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
    };
    top_level(text).find(|&i| {
        let end = i + word.len();
        text.get(i..end)
            .is_some_and(|found| found.eq_ignore_ascii_case(word))
            && (i == 0 || boundary(i - 1))
            && boundary(end)
    })
}

fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

impl SelectList {
    pub(crate) fn parse(soql: &str) -> Option<SelectList> {
        let soql = soql.trim();
        let select = find_keyword(soql, "SELECT")?;
        let from = find_keyword(soql, "FROM")?;
        let list = soql.get(select + 6..from)?;
        let object = soql
            .get(from + 4..)?
            .split(|c: char| c.is_whitespace() || c == ',')
            .find(|s| !s.is_empty())?
            .to_owned();
        let mut expr = 0;
        let items: Vec<SelectItem> = split_top_level(list)
            .into_iter()
            .map(|item| {
                let item = item.trim();
                if is_path(item) {
                    return SelectItem::Path(item.to_owned());
                }
                let Some(open) = item.find('(') else {
                    return SelectItem::Other;
                };
                let Some(close) = item.rfind(')') else {
                    return SelectItem::Other;
                };
                let function = item[..open].trim().to_ascii_uppercase();
                let known = ["COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"];
                if !known.contains(&function.as_str()) {
                    return SelectItem::Other;
                }
                let argument = item[open + 1..close].trim().to_owned();
                let alias = item[close + 1..].trim();
                let name = if alias.is_empty() {
                    expr += 1;
                    format!("expr{}", expr - 1)
                } else if is_path(alias) && !alias.contains('.') {
                    alias.to_owned()
                } else {
                    return SelectItem::Other;
                };
                SelectItem::Aggregate {
                    function,
                    argument,
                    name,
                }
            })
            .collect();
        let grouped = find_keyword(soql, "GROUP").is_some()
            || items
                .iter()
                .any(|i| matches!(i, SelectItem::Aggregate { .. }));
        Some(SelectList {
            object,
            items,
            grouped,
        })
    }
}

/// The main (FROM) object of a SOQL query, if it can be read.
pub fn query_object(soql: &str) -> Option<String> {
    SelectList::parse(soql).map(|l| l.object)
}

/// The column of a query whose whole select list is `COUNT()` (`expr0`, or its alias).
pub(crate) fn count_only_column(soql: &str) -> Option<String> {
    let list = SelectList::parse(soql)?;
    match list.items.as_slice() {
        [SelectItem::Aggregate {
            function,
            argument,
            name,
        }] if function == "COUNT" && argument.is_empty() => Some(name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_lists_are_read_into_paths_and_aggregates() {
        let list = SelectList::parse(
            "SELECT Id, Account.Name, COUNT(Id), MAX(Amount) top, (SELECT Id FROM Contacts) \
             FROM Opportunity WHERE Name = 'a, FROM b' GROUP BY Id",
        )
        .unwrap();
        assert_eq!(list.object, "Opportunity");
        assert_eq!(list.items[0], SelectItem::Path("Id".into()));
        assert_eq!(list.items[1], SelectItem::Path("Account.Name".into()));
        assert_eq!(
            list.items[2],
            SelectItem::Aggregate {
                function: "COUNT".into(),
                argument: "Id".into(),
                name: "expr0".into()
            }
        );
        assert_eq!(
            list.items[3],
            SelectItem::Aggregate {
                function: "MAX".into(),
                argument: "Amount".into(),
                name: "top".into()
            }
        );
        assert_eq!(list.items[4], SelectItem::Other);
        assert_eq!(
            SelectList::parse("select name from contact")
                .unwrap()
                .object,
            "contact"
        );
        assert!(SelectList::parse("not a query").is_none());
    }
}
