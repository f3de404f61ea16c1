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
    "/jobs/query/{id}/resultPages",
    "/event/eventSchema/{id}",
    "/tooling/query",
    "/tooling/sobjects/{type}",
    "/tooling/sobjects/{type}/{id}",
    "/tooling/executeAnonymous",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/userinfo",
    "/apexrest/{path}",
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
    if path.starts_with("/services/apexrest/") {
        return index_of("/apexrest/{path}");
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
        ["jobs", "query", _, "resultPages"] => "/jobs/query/{id}/resultPages",
        ["event", "eventSchema", _] => "/event/eventSchema/{id}",
        ["tooling", "query"] => "/tooling/query",
        ["tooling", "sobjects", _] => "/tooling/sobjects/{type}",
        ["tooling", "sobjects", _, _] => "/tooling/sobjects/{type}/{id}",
        ["tooling", "executeAnonymous"] => "/tooling/executeAnonymous",
        _ => return 0,
    };
    index_of(template)
}

/// The specification's `operation` label: a stable name for the API call a route template and
/// method make (`sobjects.create`, `query`, `bulk.ingest.create_job`). A pure function of the
/// two, so it adds no series.
pub fn operation_of(route: &str, method: &str) -> &'static str {
    match (route, method) {
        ("/", _) => "versions",
        ("/limits", _) => "limits",
        ("/sobjects", _) => "sobjects.describe_global",
        ("/sobjects/{type}", "POST") => "sobjects.create",
        ("/sobjects/{type}", _) => "sobjects.describe_basic",
        ("/sobjects/{type}/{id}", "GET") => "sobjects.get",
        ("/sobjects/{type}/{id}", "PATCH") => "sobjects.update",
        ("/sobjects/{type}/{id}", "DELETE") => "sobjects.delete",
        ("/sobjects/{type}/{id}", _) => "sobjects.record",
        ("/sobjects/{type}/describe", _) => "sobjects.describe",
        ("/sobjects/{type}/{field}/{value}", "PATCH") => "sobjects.upsert",
        ("/sobjects/{type}/{field}/{value}", "DELETE") => "sobjects.delete_by_external_id",
        ("/sobjects/{type}/{field}/{value}", _) => "sobjects.get_by_external_id",
        ("/sobjects/{type}/eventSchema", _) => "events.schema",
        ("/sobjects/{type}/updated", _) => "sobjects.get_updated",
        ("/sobjects/{type}/deleted", _) => "sobjects.get_deleted",
        ("/sobjects/{type}/{id}/{relationship}", _) => "sobjects.get_related",
        ("/query", _) => "query",
        ("/query/{locator}", _) => "query.next_page",
        ("/queryAll", _) => "query.include_deleted",
        ("/search", _) => "search",
        ("/composite", _) => "composite",
        ("/composite/batch", _) => "composite.batch",
        ("/composite/tree/{type}", _) => "composite.tree",
        ("/composite/sobjects", "POST") => "composite.sobjects.create",
        ("/composite/sobjects", "PATCH") => "composite.sobjects.update",
        ("/composite/sobjects", "DELETE") => "composite.sobjects.delete",
        ("/composite/sobjects", _) => "composite.sobjects",
        ("/composite/sobjects/{type}", "PATCH") => "composite.sobjects.upsert",
        ("/composite/sobjects/{type}", _) => "composite.sobjects.get",
        ("/jobs/ingest", "POST") => "bulk.ingest.create_job",
        ("/jobs/ingest", _) => "bulk.ingest.list_jobs",
        ("/jobs/ingest/{id}", "PATCH") => "bulk.ingest.set_state",
        ("/jobs/ingest/{id}", "DELETE") => "bulk.ingest.delete_job",
        ("/jobs/ingest/{id}", _) => "bulk.ingest.get_job",
        ("/jobs/ingest/{id}/batches", _) => "bulk.ingest.upload",
        ("/jobs/ingest/{id}/successfulResults", _) => "bulk.ingest.successful_results",
        ("/jobs/ingest/{id}/failedResults", _) => "bulk.ingest.failed_results",
        ("/jobs/ingest/{id}/unprocessedrecords", _) => "bulk.ingest.unprocessed_records",
        ("/jobs/query", "POST") => "bulk.query.create_job",
        ("/jobs/query", _) => "bulk.query.list_jobs",
        ("/jobs/query/{id}", "PATCH") => "bulk.query.set_state",
        ("/jobs/query/{id}", "DELETE") => "bulk.query.delete_job",
        ("/jobs/query/{id}", _) => "bulk.query.get_job",
        ("/jobs/query/{id}/results", _) => "bulk.query.results",
        ("/jobs/query/{id}/resultPages", _) => "bulk.query.result_pages",
        ("/event/eventSchema/{id}", _) => "events.schema",
        ("/tooling/query", _) => "tooling.query",
        ("/tooling/sobjects/{type}", "POST") => "tooling.create",
        ("/tooling/sobjects/{type}", _) => "tooling.describe",
        ("/tooling/sobjects/{type}/{id}", "PATCH") => "tooling.update",
        ("/tooling/sobjects/{type}/{id}", "DELETE") => "tooling.delete",
        ("/tooling/sobjects/{type}/{id}", _) => "tooling.get",
        ("/tooling/executeAnonymous", _) => "tooling.execute_anonymous",
        ("/oauth2/token", _) => "auth.token",
        ("/oauth2/revoke", _) => "auth.revoke",
        ("/oauth2/userinfo", _) => "auth.userinfo",
        ("/apexrest/{path}", _) => "apex",
        _ => "other",
    }
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
        assert_eq!(template("/services/apexrest/anything"), "/apexrest/{path}");
        assert_eq!(
            template(&format!("{v}/jobs/query/750000000000001AAA/resultPages")),
            "/jobs/query/{id}/resultPages"
        );
        assert_eq!(template(&format!("{v}/unknown/thing")), "other");
    }

    #[test]
    fn every_template_names_an_operation() {
        for route in &ROUTES[1..] {
            for method in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
                assert_ne!(operation_of(route, method), "other", "{method} {route}");
            }
        }
        assert_eq!(operation_of("/sobjects/{type}", "POST"), "sobjects.create");
        assert_eq!(
            operation_of("/jobs/ingest", "POST"),
            "bulk.ingest.create_job"
        );
        assert_eq!(operation_of("/query", "GET"), "query");
        assert_eq!(operation_of("other", "GET"), "other");
    }

    #[test]
    fn every_template_is_listed_once() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(index_of(r), i, "{r}");
        }
    }
}
