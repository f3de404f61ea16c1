//! Route templates: a request path with its ids, names and locators replaced by placeholders
//! (`/sobjects/{type}/{id}`). Metrics and logs label requests by template, never by a path, so
//! the label set stays bounded and carries no record id or query text.

/// Every template, in a fixed order: a metric is an array indexed by position here.
pub const ROUTES: &[&str] = &[
    "other",
    "/",
    "/limits",
    "/sobjects",
    "/sobjects/{type}",
    "/sobjects/{type}/{id}",
    "/sobjects/{type}/describe",
    "/sobjects/{type}/{field}/{value}",
    "/sobjects/{type}/eventSchema",
    "/sobjects/{type}/updated",
    "/sobjects/{type}/deleted",
    "/sobjects/{type}/{id}/{relationship}",
    "/query",
    "/query/{locator}",
    "/queryAll",
    "/search",
    "/composite",
    "/composite/batch",
    "/composite/tree/{type}",
    "/composite/sobjects",
    "/composite/sobjects/{type}",
    "/jobs/ingest",
    "/jobs/ingest/{id}",
    "/jobs/ingest/{id}/batches",
    "/jobs/ingest/{id}/successfulResults",
    "/jobs/ingest/{id}/failedResults",
    "/jobs/ingest/{id}/unprocessedrecords",
    "/jobs/query",
    "/jobs/query/{id}",
    "/jobs/query/{id}/results",
    "/event/eventSchema/{id}",
    "/tooling/query",
    "/tooling/sobjects/{type}",
    "/tooling/sobjects/{type}/{id}",
    "/tooling/executeAnonymous",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/userinfo",
];

fn index_of(template: &str) -> usize {
    ROUTES.iter().position(|r| *r == template).unwrap_or(0)
}

/// The template of a URL path (`/services/data/v62.0/sobjects/Account/001...` gives
/// `/sobjects/{type}/{id}`), as its index in [`ROUTES`]; 0 (`other`) for paths it does not know.
pub fn route_of(path: &str) -> usize {
    if let Some(rest) = path.strip_prefix("/services/oauth2/") {
        return match rest.trim_end_matches('/') {
            "token" => index_of("/oauth2/token"),
            "revoke" => index_of("/oauth2/revoke"),
            "userinfo" => index_of("/oauth2/userinfo"),
            _ => 0,
        };
    }
    let Some(rest) = path.strip_prefix("/services/data") else {
        return 0;
    };
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    let Some(version) = segments.next() else {
        return index_of("/");
    };
    if !version.starts_with('v') {
        return 0;
    }
    let segments: Vec<&str> = segments.collect();
    let template = match segments.as_slice() {
        [] => return 0,
        ["limits"] => "/limits",
        ["sobjects"] => "/sobjects",
        ["sobjects", _] => "/sobjects/{type}",
        ["sobjects", _, "describe"] => "/sobjects/{type}/describe",
        ["sobjects", _, "eventSchema"] => "/sobjects/{type}/eventSchema",
        ["sobjects", _, "updated"] => "/sobjects/{type}/updated",
        ["sobjects", _, "deleted"] => "/sobjects/{type}/deleted",
        ["sobjects", _, _] => "/sobjects/{type}/{id}",
        ["sobjects", _, field, _] if field.contains("__c") || !looks_like_id(field) => {
            "/sobjects/{type}/{field}/{value}"
        }
        ["sobjects", _, _, _] => "/sobjects/{type}/{id}/{relationship}",
        ["query"] => "/query",
        ["query", _] => "/query/{locator}",
        ["queryAll"] => "/queryAll",
        ["queryAll", _] => "/query/{locator}",
        ["search"] => "/search",
        ["composite"] => "/composite",
        ["composite", "batch"] => "/composite/batch",
        ["composite", "tree", _] => "/composite/tree/{type}",
        ["composite", "sobjects"] => "/composite/sobjects",
        ["composite", "sobjects", _] => "/composite/sobjects/{type}",
        ["jobs", "ingest"] => "/jobs/ingest",
        ["jobs", "ingest", _] => "/jobs/ingest/{id}",
        ["jobs", "ingest", _, "batches"] => "/jobs/ingest/{id}/batches",
        ["jobs", "ingest", _, "successfulResults"] => "/jobs/ingest/{id}/successfulResults",
        ["jobs", "ingest", _, "failedResults"] => "/jobs/ingest/{id}/failedResults",
        ["jobs", "ingest", _, "unprocessedrecords"] => "/jobs/ingest/{id}/unprocessedrecords",
        ["jobs", "query"] => "/jobs/query",
        ["jobs", "query", _] => "/jobs/query/{id}",
        ["jobs", "query", _, "results"] => "/jobs/query/{id}/results",
        ["event", "eventSchema", _] => "/event/eventSchema/{id}",
        ["tooling", "query"] => "/tooling/query",
        ["tooling", "sobjects", _] => "/tooling/sobjects/{type}",
        ["tooling", "sobjects", _, _] => "/tooling/sobjects/{type}/{id}",
        ["tooling", "executeAnonymous"] => "/tooling/executeAnonymous",
        _ => return 0,
    };
    index_of(template)
}

/// A Salesforce record id: 15 or 18 letters and digits.
fn looks_like_id(segment: &str) -> bool {
    matches!(segment.len(), 15 | 18) && segment.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(path: &str) -> &'static str {
        ROUTES[route_of(path)]
    }

    #[test]
    fn ids_names_and_locators_become_placeholders() {
        let v = "/services/data/v62.0";
        assert_eq!(
            template(&format!("{v}/sobjects/Account")),
            "/sobjects/{type}"
        );
        assert_eq!(
            template(&format!("{v}/sobjects/Account/001000000000001AAA")),
            "/sobjects/{type}/{id}"
        );
        assert_eq!(
            template(&format!("{v}/sobjects/Invoice__c/Number__c/INV-1")),
            "/sobjects/{type}/{field}/{value}"
        );
        assert_eq!(
            template(&format!("{v}/query/01g000000000001-2000")),
            "/query/{locator}"
        );
        assert_eq!(
            template(&format!("{v}/jobs/ingest/750000000000001AAA/batches")),
            "/jobs/ingest/{id}/batches"
        );
        assert_eq!(template("/services/oauth2/token"), "/oauth2/token");
        assert_eq!(template("/services/data/"), "/");
        assert_eq!(template("/services/apexrest/anything"), "other");
        assert_eq!(template(&format!("{v}/unknown/thing")), "other");
    }

    #[test]
    fn every_template_is_listed_once() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(index_of(r), i, "{r}");
        }
    }
}
