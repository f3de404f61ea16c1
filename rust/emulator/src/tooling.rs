//! The Tooling API under `/services/data/vXX.X/tooling/`: queries and sObject calls on the
//! org's metadata objects (ApexClass) through the same handlers as the REST API, and
//! `executeAnonymous`, whose compile check finds unbalanced brackets and whose run fails a false
//! `System.assert`.

use serde_json::{json, Value};

/// The documented ExecuteAnonymousResult for `body`.
pub fn execute_anonymous(body: Option<&str>) -> Value {
    let body = body.unwrap_or_default();
    if let Some((line, column, problem)) = compile_problem(body) {
        return json!({
            "line": line, "column": column, "compiled": false, "success": false,
            "compileProblem": problem, "exceptionStackTrace": null, "exceptionMessage": null,
        });
    }
    let failed_assert = body
        .lines()
        .enumerate()
        .find(|(_, l)| l.replace(' ', "").contains("System.assert(false"));
    match failed_assert {
        Some((i, _)) => json!({
            "line": i + 1, "column": 1, "compiled": true, "success": false,
            "compileProblem": null,
            "exceptionStackTrace": format!("AnonymousBlock: line {}, column 1", i + 1),
            "exceptionMessage": "System.AssertException: Assertion Failed",
        }),
        None => json!({
            "line": -1, "column": -1, "compiled": true, "success": true,
            "compileProblem": null, "exceptionStackTrace": null, "exceptionMessage": null,
        }),
    }
}

/// The first bracket that does not match, or an empty body, as (line, column, message).
fn compile_problem(body: &str) -> Option<(usize, usize, String)> {
    if body.trim().is_empty() {
        return Some((1, 1, "Unexpected token '<EOF>'.".to_owned()));
    }
    let mut open: Vec<(char, usize, usize)> = Vec::new();
    let mut in_string = false;
    for (i, line) in body.lines().enumerate() {
        let mut escaped = false;
        for (j, c) in line.chars().enumerate() {
            if in_string {
                match c {
                    '\\' if !escaped => escaped = true,
                    '\'' if !escaped => in_string = false,
                    _ => escaped = false,
                }
                continue;
            }
            match c {
                '\'' => in_string = true,
                '(' | '{' | '[' => open.push((c, i + 1, j + 1)),
                ')' | '}' | ']' => {
                    let want = match c {
                        ')' => '(',
                        '}' => '{',
                        _ => '[',
                    };
                    if open.pop().map(|(o, _, _)| o) != Some(want) {
                        return Some((i + 1, j + 1, format!("Unexpected token '{c}'.")));
                    }
                }
                _ => {}
            }
        }
    }
    open.pop()
        .map(|(c, line, column)| (line, column, format!("Missing closing bracket for '{c}'.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_runs_and_fails_as_documented() {
        let ok = execute_anonymous(Some("Integer i = 1;\nSystem.debug(i);"));
        assert_eq!(
            (ok["compiled"].clone(), ok["success"].clone()),
            (json!(true), json!(true))
        );
        let broken = execute_anonymous(Some("System.debug('x';\n"));
        assert_eq!(broken["compiled"], json!(false));
        assert_eq!(broken["line"], json!(1));
        let failing = execute_anonymous(Some("Integer i = 1;\nSystem.assert(false);"));
        assert_eq!(failing["success"], json!(false));
        assert_eq!(failing["line"], json!(2));
        assert_eq!(
            failing["exceptionMessage"],
            json!("System.AssertException: Assertion Failed")
        );
    }
}
