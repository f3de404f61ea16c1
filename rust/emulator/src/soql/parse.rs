//! SOQL text to a query tree, with Salesforce's MALFORMED_QUERY messages (row, column, token).

use crate::http_kit::failure::ApiFailure;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    /// A date or datetime literal, or a date function like LAST_N_DAYS:7 (kept as written).
    DateLit(String),
    Sym(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// A date, datetime or date function, resolved when compared.
    Date(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: Vec<String>,
        op: &'static str,
        value: Literal,
        col: usize,
    },
    In {
        field: Vec<String>,
        negated: bool,
        values: Vec<Literal>,
        col: usize,
    },
    Like {
        field: Vec<String>,
        pattern: String,
        col: usize,
    },
    /// `SUM(Amount) > 100`: only in HAVING.
    Aggregate {
        function: AggFn,
        field: Vec<String>,
        op: &'static str,
        value: Literal,
        col: usize,
    },
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFn {
    fn of(word: &str) -> Option<Self> {
        Some(match word.to_ascii_uppercase().as_str() {
            "COUNT" => Self::Count,
            "COUNT_DISTINCT" => Self::CountDistinct,
            "SUM" => Self::Sum,
            "AVG" => Self::Avg,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "COUNT",
            Self::CountDistinct => "COUNT_DISTINCT",
            Self::Sum => "SUM",
            Self::Avg => "AVG",
            Self::Min => "MIN",
            Self::Max => "MAX",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    Field {
        path: Vec<String>,
        col: usize,
    },
    /// `SUM(Amount) total`: an aggregate with an optional alias; `COUNT()` is
    /// [`Query::count_only`].
    Aggregate {
        function: AggFn,
        field: Vec<String>,
        alias: Option<String>,
        col: usize,
    },
    /// `(SELECT LastName FROM Contacts)`: a parent-to-child subquery; its `object` is the
    /// child relationship's name.
    Children {
        query: Box<Query>,
        col: usize,
    },
    /// `FIELDS(STANDARD)`, `FIELDS(CUSTOM)` or `FIELDS(ALL)`.
    FieldsOf {
        which: String,
        col: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub path: Vec<String>,
    /// `ORDER BY COUNT(Id)` in an aggregate query.
    pub aggregate: Option<AggFn>,
    pub descending: bool,
    pub nulls_last: bool,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub count_only: bool,
    pub select: Vec<Select>,
    pub object: String,
    pub object_col: usize,
    pub filter: Option<Cond>,
    pub group_by: Vec<(Vec<String>, usize)>,
    pub having: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Salesforce's caret block: the query, a caret under the column, the row and column, a reason.
pub fn caret_error(code: &str, soql: &str, col: usize, reason: &str) -> ApiFailure {
    let one_line = soql.replace(['\n', '\r'], " ");
    let caret = format!("{}^", " ".repeat(col.saturating_sub(1)));
    ApiFailure::bad_request(
        code,
        format!("\n{one_line}\n{caret}\nERROR at Row:1:Column:{col}\n{reason}"),
    )
}

fn lex(soql: &str) -> Result<Vec<Token>, ApiFailure> {
    let chars: Vec<char> = soql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let mut value = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                match chars[j] {
                    '\\' if j + 1 < chars.len() => {
                        let escaped = chars[j + 1];
                        value.push(match escaped {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            'b' => '\u{8}',
                            'f' => '\u{c}',
                            other => other,
                        });
                        j += 2;
                    }
                    '\'' => {
                        closed = true;
                        j += 1;
                        break;
                    }
                    other => {
                        value.push(other);
                        j += 1;
                    }
                }
            }
            if !closed {
                return Err(caret_error(
                    "MALFORMED_QUERY",
                    soql,
                    col,
                    "line 1:unterminated string literal",
                ));
            }
            tokens.push(Token {
                tok: Tok::Str(value),
                col,
                text: chars[i..j].iter().collect(),
            });
            i = j;
            continue;
        }
        if let Some(sym) = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ","]
            .iter()
            .find(|s| {
                let s: Vec<char> = s.chars().collect();
                chars.get(i..i + s.len()) == Some(&s[..])
            })
        {
            tokens.push(Token {
                tok: Tok::Sym(sym),
                col,
                text: (*sym).to_owned(),
            });
            i += sym.len();
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '.' | ':' | '-' | '+'))
            {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            let tok = if text.len() >= 10 && text.as_bytes().get(4) == Some(&b'-') {
                Tok::DateLit(text.clone())
            } else {
                Tok::Num(text.clone())
            };
            tokens.push(Token { tok, col, text });
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || matches!(chars[j], '_' | '.')) {
                j += 1;
            }
            // Date functions carry a count: LAST_N_DAYS:7.
            if chars.get(j) == Some(&':') {
                let mut k = j + 1;
                while k < chars.len() && chars[k].is_ascii_digit() {
                    k += 1;
                }
                let text: String = chars[i..k].iter().collect();
                tokens.push(Token {
                    tok: Tok::DateLit(text.to_ascii_uppercase()),
                    col,
                    text,
                });
                i = k;
                continue;
            }
            let text: String = chars[i..j].iter().collect();
            tokens.push(Token {
                tok: Tok::Ident(text.clone()),
                col,
                text,
            });
            i = j;
            continue;
        }
        return Err(caret_error(
            "MALFORMED_QUERY",
            soql,
            col,
            &format!(
                "line 1:{} no viable alternative at character '{c}'",
                col - 1
            ),
        ));
    }
    Ok(tokens)
}

const DATE_WORDS: &[&str] = &[
    "TODAY",
    "YESTERDAY",
    "TOMORROW",
    "THIS_WEEK",
    "LAST_WEEK",
    "THIS_MONTH",
    "LAST_MONTH",
    "NEXT_MONTH",
    "THIS_YEAR",
    "LAST_YEAR",
];

/// How deep conditions may nest (parentheses and NOT together): deeper ones are refused as
/// MALFORMED_QUERY instead of recursing until the stack of the process running the org runs out.
pub const MAX_CONDITION_DEPTH: usize = 100;

struct Parser<'a> {
    soql: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    /// Conditions open around the one being parsed.
    depth: usize,
    /// Parsing a HAVING clause, where aggregate comparisons are allowed.
    in_having: bool,
    /// Parsing a subquery, which may not hold another.
    in_subquery: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(t), .. }) if t.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let hit = self.keyword(word);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.peek(), Some(Token { tok: Tok::Sym(s), .. }) if *s == sym);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn unexpected(&self) -> ApiFailure {
        match self.peek() {
            Some(t) => caret_error(
                "MALFORMED_QUERY",
                self.soql,
                t.col,
                &format!("unexpected token: '{}'", t.text),
            ),
            None => {
                let col = self.soql.chars().count() + 1;
                caret_error(
                    "MALFORMED_QUERY",
                    self.soql,
                    col,
                    "unexpected token: '<EOF>'",
                )
            }
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), ApiFailure> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, usize), ApiFailure> {
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(t),
                col,
                ..
            }) if !is_reserved(t) => {
                let out = (t.clone(), *col);
                self.pos += 1;
                Ok(out)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<(Vec<String>, usize), ApiFailure> {
        let (text, col) = self.ident()?;
        Ok((text.split('.').map(str::to_owned).collect(), col))
    }

    fn number(&mut self) -> Result<usize, ApiFailure> {
        match self.peek() {
            Some(Token {
                tok: Tok::Num(n), ..
            }) => {
                let value = n.parse::<usize>().map_err(|_| self.unexpected())?;
                self.pos += 1;
                Ok(value)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, ApiFailure> {
        self.expect_keyword("SELECT")?;
        let mut select = Vec::new();
        let mut count_only = false;
        loop {
            if let Some((function, field, col)) = self.aggregate_call()? {
                if field.is_empty() {
                    count_only = true;
                } else {
                    let alias = match self.peek() {
                        Some(Token {
                            tok: Tok::Ident(t), ..
                        }) if !is_reserved(t) => Some(self.ident()?.0),
                        _ => None,
                    };
                    select.push(Select::Aggregate {
                        function,
                        field,
                        alias,
                        col,
                    });
                }
            } else if self.subquery_ahead() {
                let col = self.peek().map_or(0, |t| t.col);
                if self.in_subquery {
                    return Err(caret_error(
                        "MALFORMED_QUERY",
                        self.soql,
                        col,
                        "a subquery may not hold another subquery",
                    ));
                }
                self.pos += 1;
                self.in_subquery = true;
                let inner = self.query_until_close();
                self.in_subquery = false;
                select.push(Select::Children {
                    query: Box::new(inner?),
                    col,
                });
            } else if self
                .call_ahead()
                .is_some_and(|w| w.eq_ignore_ascii_case("FIELDS"))
            {
                let col = self.peek().map_or(0, |t| t.col);
                self.pos += 2;
                let (which, which_col) = self.ident()?;
                if !["STANDARD", "CUSTOM", "ALL"]
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(&which))
                {
                    return Err(caret_error(
                        "MALFORMED_QUERY",
                        self.soql,
                        which_col,
                        "FIELDS takes STANDARD, CUSTOM or ALL",
                    ));
                }
                if !self.eat_sym(")") {
                    return Err(self.unexpected());
                }
                select.push(Select::FieldsOf { which, col });
            } else {
                let (path, col) = self.path()?;
                select.push(Select::Field { path, col });
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        if count_only && !select.is_empty() {
            return Err(self.unexpected());
        }
        self.expect_keyword("FROM")?;
        let (object, object_col) = self.ident()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or_cond()?)
        } else {
            None
        };
        // Field-level security is the org's to apply; the emulator's running user sees all.
        if self.eat_keyword("WITH") && !self.eat_keyword("SECURITY_ENFORCED") {
            return Err(self.unexpected());
        }
        let mut group_by = Vec::new();
        if self.eat_keyword("GROUP") {
            self.expect_keyword("BY")?;
            loop {
                group_by.push(self.path()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let having = if self.eat_keyword("HAVING") {
            self.in_having = true;
            let cond = self.or_cond();
            self.in_having = false;
            Some(cond?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                let (aggregate, path, col) = match self.aggregate_call()? {
                    // COUNT() counts rows; there are no rows to order by it.
                    Some((_, field, col)) if field.is_empty() => {
                        return Err(caret_error(
                            "MALFORMED_QUERY",
                            self.soql,
                            col,
                            "unexpected token: ')'",
                        ))
                    }
                    Some((function, field, col)) => (Some(function), field, col),
                    None => {
                        let (path, col) = self.path()?;
                        (None, path, col)
                    }
                };
                let descending = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                let mut nulls_last = descending;
                if self.eat_keyword("NULLS") {
                    nulls_last = if self.eat_keyword("LAST") {
                        true
                    } else {
                        self.expect_keyword("FIRST")?;
                        false
                    };
                }
                order.push(Order {
                    path,
                    aggregate,
                    descending,
                    nulls_last,
                    col,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.number()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.number()?)
        } else {
            None
        };
        if self.peek().is_some() && !self.in_subquery {
            return Err(self.unexpected());
        }
        Ok(Query {
            count_only,
            select,
            object,
            object_col,
            filter,
            group_by,
            having,
            order,
            limit,
            offset,
        })
    }

    /// The name of a function call at the cursor: a word followed by `(`.
    fn call_ahead(&self) -> Option<&str> {
        match (self.peek(), self.tokens.get(self.pos + 1)) {
            (
                Some(Token {
                    tok: Tok::Ident(word),
                    ..
                }),
                Some(Token {
                    tok: Tok::Sym("("), ..
                }),
            ) => Some(word),
            _ => None,
        }
    }

    /// `SUM(Amount)` at the cursor, read through its `)`: the function, its field (empty for
    /// `COUNT()`) and its column; None when no aggregate starts here.
    fn aggregate_call(&mut self) -> Result<Option<(AggFn, Vec<String>, usize)>, ApiFailure> {
        let Some(function) = self.call_ahead().and_then(AggFn::of) else {
            return Ok(None);
        };
        let col = self.peek().map_or(0, |t| t.col);
        self.pos += 2;
        if function == AggFn::Count && self.eat_sym(")") {
            return Ok(Some((function, Vec::new(), col)));
        }
        let (field, _) = self.path()?;
        if !self.eat_sym(")") {
            return Err(self.unexpected());
        }
        Ok(Some((function, field, col)))
    }

    /// `(SELECT` at the cursor.
    fn subquery_ahead(&self) -> bool {
        matches!(
            self.peek(),
            Some(Token {
                tok: Tok::Sym("("),
                ..
            })
        ) && matches!(self.tokens.get(self.pos + 1), Some(Token { tok: Tok::Ident(t), .. }) if t.eq_ignore_ascii_case("SELECT"))
    }

    /// A subquery after its `(`, through its `)`.
    fn query_until_close(&mut self) -> Result<Query, ApiFailure> {
        let inner = self.query()?;
        if !self.eat_sym(")") {
            return Err(self.unexpected());
        }
        if inner.count_only || !inner.group_by.is_empty() {
            return Err(caret_error(
                "MALFORMED_QUERY",
                self.soql,
                inner.object_col,
                "a subquery may not aggregate",
            ));
        }
        Ok(inner)
    }

    fn or_cond(&mut self) -> Result<Cond, ApiFailure> {
        let mut parts = vec![self.and_cond()?];
        while self.eat_keyword("OR") {
            parts.push(self.and_cond()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and_cond(&mut self) -> Result<Cond, ApiFailure> {
        let mut parts = vec![self.not_cond()?];
        while self.eat_keyword("AND") {
            parts.push(self.not_cond()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn not_cond(&mut self) -> Result<Cond, ApiFailure> {
        let opens = matches!(self.peek(), Some(Token { tok: Tok::Sym(s), .. }) if *s == "(");
        if opens || self.keyword("NOT") {
            return self.nested(|p| {
                if p.eat_keyword("NOT") {
                    return Ok(Cond::Not(Box::new(p.not_cond()?)));
                }
                p.eat_sym("(");
                let inner = p.or_cond()?;
                if !p.eat_sym(")") {
                    return Err(p.unexpected());
                }
                Ok(inner)
            });
        }
        if let Some((function, field, col)) = self.aggregate_call()? {
            if !self.in_having {
                return Err(caret_error(
                    "MALFORMED_QUERY",
                    self.soql,
                    col,
                    "Aggregate functions are only allowed in HAVING, not in WHERE",
                ));
            }
            let op = self.comparison()?;
            let value = self.literal()?;
            return Ok(Cond::Aggregate {
                function,
                field,
                op,
                value,
                col,
            });
        }
        let (field, col) = self.path()?;
        if self.eat_keyword("LIKE") {
            return match self.literal()? {
                Literal::Str(pattern) => Ok(Cond::Like {
                    field,
                    pattern,
                    col,
                }),
                _ => Err(caret_error(
                    "MALFORMED_QUERY",
                    self.soql,
                    col,
                    "LIKE takes a string",
                )),
            };
        }
        let negated = if self.keyword("NOT")
            && matches!(self.tokens.get(self.pos + 1), Some(Token { tok: Tok::Ident(t), .. }) if t.eq_ignore_ascii_case("IN"))
        {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.eat_keyword("IN") {
            if !self.eat_sym("(") {
                return Err(self.unexpected());
            }
            let mut values = vec![self.literal()?];
            while self.eat_sym(",") {
                values.push(self.literal()?);
            }
            if !self.eat_sym(")") {
                return Err(self.unexpected());
            }
            return Ok(Cond::In {
                field,
                negated,
                values,
                col,
            });
        }
        if negated {
            return Err(self.unexpected());
        }
        let op = self.comparison()?;
        let value = self.literal()?;
        Ok(Cond::Cmp {
            field,
            op,
            value,
            col,
        })
    }

    fn comparison(&mut self) -> Result<&'static str, ApiFailure> {
        match self.peek() {
            Some(Token {
                tok: Tok::Sym(s @ ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=")),
                ..
            }) => {
                let op = if *s == "<>" { "!=" } else { *s };
                self.pos += 1;
                Ok(op)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// Parses one level deeper, refusing to go past [`MAX_CONDITION_DEPTH`].
    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Cond, ApiFailure>,
    ) -> Result<Cond, ApiFailure> {
        if self.depth >= MAX_CONDITION_DEPTH {
            let col = self.peek().map_or(1, |t| t.col);
            return Err(caret_error(
                "MALFORMED_QUERY",
                self.soql,
                col,
                &format!("conditions nest more than {MAX_CONDITION_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let cond = parse(self);
        self.depth -= 1;
        cond
    }

    fn literal(&mut self) -> Result<Literal, ApiFailure> {
        let token = self.peek().cloned().ok_or_else(|| self.unexpected())?;
        let value = match &token.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(n) => Literal::Num(n.parse::<f64>().map_err(|_| self.unexpected())?),
            Tok::DateLit(d) => Literal::Date(d.clone()),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Ident(w) if DATE_WORDS.iter().any(|d| d.eq_ignore_ascii_case(w)) => {
                Literal::Date(w.to_ascii_uppercase())
            }
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(value)
    }
}

fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT",
        "OFFSET", "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "WITH",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Parses a SOQL statement.
pub fn parse(soql: &str) -> Result<Query, ApiFailure> {
    let tokens = lex(soql)?;
    Parser {
        soql,
        tokens,
        pos: 0,
        depth: 0,
        in_having: false,
        in_subquery: false,
    }
    .query()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query() {
        let q = parse("SELECT Id, Account.Name FROM Contact WHERE (LastName LIKE 'S%' OR Email = null) AND NOT Title IN ('CEO','CTO') AND CreatedDate = LAST_N_DAYS:7 ORDER BY LastName DESC NULLS LAST, Id LIMIT 10 OFFSET 5").unwrap();
        assert_eq!(q.object, "Contact");
        assert_eq!(q.select.len(), 2);
        assert_eq!(q.order.len(), 2);
        assert_eq!((q.limit, q.offset), (Some(10), Some(5)));
        assert!(matches!(q.filter, Some(Cond::And(ref parts)) if parts.len() == 3));
    }

    /// Bounded, seeded fuzzing: random token soups and mutations of valid queries end in a
    /// query or a typed failure, never a panic.
    #[test]
    fn the_parser_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x50_91);
        let words = [
            "SELECT",
            "Id",
            "Name",
            "Account.Name",
            "FROM",
            "Account",
            "WHERE",
            "AND",
            "OR",
            "NOT",
            "(",
            ")",
            "=",
            "!=",
            "<",
            ">=",
            "LIKE",
            "IN",
            "NULL",
            "'x'",
            "'",
            "\\'",
            "12",
            "-3.5",
            "2020-01-01",
            "2020-01-01T00:00:00Z",
            "LAST_N_DAYS:30",
            "TODAY",
            ",",
            "ORDER",
            "BY",
            "DESC",
            "NULLS",
            "LAST",
            "LIMIT",
            "OFFSET",
            "COUNT()",
            "%",
            "_",
            ":",
            "\u{e9}",
            "\u{1F600}",
        ];
        let valid = "SELECT Id, Name, Account.Name FROM Contact WHERE (Name LIKE 'A%' OR NOT \
                     Amount__c > 10) AND CreatedDate = LAST_N_DAYS:30 ORDER BY Name DESC \
                     NULLS LAST LIMIT 10 OFFSET 5";
        for case in 0..5_000 {
            let soql = if case % 2 == 0 {
                (0..rng.gen_range(0..25))
                    .map(|_| words[rng.gen_range(0..words.len())])
                    .collect::<Vec<_>>()
                    .join(if rng.gen_bool(0.8) { " " } else { "" })
            } else {
                let mut chars: Vec<char> = valid.chars().collect();
                for _ in 0..rng.gen_range(1..6) {
                    let at = rng.gen_range(0..chars.len());
                    match rng.gen_range(0..3) {
                        0 => {
                            chars.remove(at);
                        }
                        1 => chars.insert(
                            at,
                            ['(', ')', '\'', ' ', ',', '.', ':'][rng.gen_range(0..7)],
                        ),
                        _ => chars.insert(at, char::from(rng.gen_range(32u8..127))),
                    }
                }
                chars.into_iter().collect()
            };
            let _ = parse(&soql);
        }
    }

    #[test]
    fn deep_conditions_are_malformed_not_a_stack_overflow() {
        let parens = format!(
            "SELECT Id FROM Account WHERE {}Name = 'x'{}",
            "(".repeat(2_000),
            ")".repeat(2_000)
        );
        let nots = format!(
            "SELECT Id FROM Account WHERE {}Name = 'x'",
            "NOT ".repeat(5_000)
        );
        for soql in [parens, nots] {
            let failure = parse(&soql).err().map(|f| f.code);
            assert_eq!(failure.as_deref(), Some("MALFORMED_QUERY"));
        }
        let fine = format!(
            "SELECT Id FROM Account WHERE {}Name = 'x'{}",
            "(".repeat(50),
            ")".repeat(50)
        );
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse("SELECT Id FRM Account").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message.contains("ERROR at Row:1:Column:11"),
            "{}",
            e.message
        );
        assert!(e.message.contains("unexpected token: 'FRM'"));
        assert!(parse("SELECT Id FROM Account WHERE Name = 'open").is_err());
        assert!(parse("SELECT FROM Account").is_err());
        assert!(parse("SELECT COUNT() FROM Account").unwrap().count_only);
    }
}
