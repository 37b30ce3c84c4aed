//! OpenAPI links: from each create to the operations on what it created
//! (a project → its cases and runs; a run → its results, bulk upload and
//! JUnit import; a recorded result → its history), so a client generator
//! or a stateful tester (Schemathesis) can walk the real flow: create a
//! project, add cases, start a run, record results, read them back.
//!
//! Ids come from the answer (`$response.body#/data/id`) or, for an answer
//! about something under a path id, from the request
//! (`$request.path.rid`). Links whose id would be an array element
//! (`results[0]` of a bulk answer) are left out: the array may be empty.

use serde_json::{Value, json};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::RefOr;
use utoipa::openapi::link::Link;

/// The created thing's id in the answer.
const NEW_ID: &str = "$response.body#/data/id";

/// (path, method, statuses, [(link name, operationId, description,
/// [(parameter, expression)])]).
type Links = &'static [(
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    )],
)];

const LINKS: Links = &[
    (
        "/v1/projects",
        "post",
        &["201"],
        &[
            (
                "GetProject",
                "get_project",
                "The project.",
                &[("pid", NEW_ID)],
            ),
            (
                "CreateCase",
                "create_case",
                "Add a case to the project.",
                &[("pid", NEW_ID)],
            ),
            (
                "BulkCases",
                "bulk_cases",
                "Add or update many cases.",
                &[("pid", NEW_ID)],
            ),
            (
                "ListCases",
                "list_cases",
                "The project's cases.",
                &[("pid", NEW_ID)],
            ),
            (
                "CreateRun",
                "create_run",
                "Start a run in the project.",
                &[("pid", NEW_ID)],
            ),
            (
                "ListRuns",
                "list_runs",
                "The project's runs.",
                &[("pid", NEW_ID)],
            ),
            (
                "ListMembers",
                "list_members",
                "The project's members.",
                &[("pid", NEW_ID)],
            ),
        ],
    ),
    (
        "/v1/projects/{pid}/cases",
        "post",
        &["201"],
        &[
            ("GetCase", "get_case", "The case.", &[("cid", NEW_ID)]),
            (
                "UpdateCase",
                "update_case",
                "Edit the case.",
                &[("cid", NEW_ID)],
            ),
        ],
    ),
    (
        "/v1/projects/{pid}/runs",
        "post",
        // 200: a run with this key existed; the same operations apply.
        &["201", "200"],
        &[
            (
                "GetRun",
                "get_run",
                "The run and its counts.",
                &[("rid", NEW_ID)],
            ),
            (
                "ListResults",
                "list_results",
                "The run's results.",
                &[("rid", NEW_ID)],
            ),
            (
                "BulkResults",
                "bulk_results",
                "Record many executions at once.",
                &[("rid", NEW_ID)],
            ),
            (
                "ImportJunit",
                "import_junit",
                "Record executions from a JUnit XML report.",
                &[("rid", NEW_ID)],
            ),
            (
                "AddCases",
                "add_cases_to_run",
                "Add cases to the run.",
                &[("rid", NEW_ID)],
            ),
            (
                "UpdateRun",
                "update_run",
                "Edit the run.",
                &[("rid", NEW_ID)],
            ),
        ],
    ),
    (
        "/v1/runs/{rid}/results/{id}/attachments",
        "post",
        &["201"],
        &[
            (
                "ListAttachments",
                "list_attachments",
                "The result's attachments.",
                &[("rid", "$request.path.rid"), ("id", "$request.path.id")],
            ),
            (
                "GetAttachment",
                "get_attachment",
                "The first attachment uploaded.",
                &[("aid", "$response.body#/data/0/id")],
            ),
            (
                "GetAttachmentContent",
                "get_attachment_content",
                "Its bytes.",
                &[("aid", "$response.body#/data/0/id")],
            ),
        ],
    ),
    (
        "/v1/runs/{rid}/results/bulk",
        "post",
        &["200"],
        &[(
            "ListResults",
            "list_results",
            "The run's results, as recorded.",
            &[("rid", "$request.path.rid")],
        )],
    ),
    (
        "/v1/runs/{rid}/results/{id}",
        "patch",
        &["200"],
        &[
            (
                "GetResult",
                "get_result",
                "The result.",
                &[("rid", "$request.path.rid"), ("id", NEW_ID)],
            ),
            (
                "ResultHistory",
                "result_history",
                "Every execution recorded for the result.",
                &[("rid", "$request.path.rid"), ("id", NEW_ID)],
            ),
        ],
    ),
    (
        "/v1/users",
        "post",
        &["201"],
        &[
            ("GetUser", "get_user", "The user.", &[("uid", NEW_ID)]),
            (
                "SetUserPassword",
                "set_user_password",
                "Set the user's password.",
                &[("uid", NEW_ID)],
            ),
        ],
    ),
    (
        "/v1/tokens",
        "post",
        &["201"],
        &[(
            "DeleteToken",
            "delete_token",
            "Revoke the token.",
            &[("tid", NEW_ID)],
        )],
    ),
    (
        "/v1/projects/{pid}/webhooks",
        "post",
        &["201"],
        &[
            (
                "GetWebhook",
                "get_webhook",
                "The webhook.",
                &[("wid", NEW_ID)],
            ),
            (
                "TestWebhook",
                "test_webhook",
                "Send it a ping event.",
                &[("wid", NEW_ID)],
            ),
            (
                "ListDeliveries",
                "list_deliveries",
                "Its delivery attempts.",
                &[("wid", NEW_ID)],
            ),
        ],
    ),
];

fn link(operation_id: &str, description: &str, parameters: &[(&str, &str)]) -> Link {
    let parameters: serde_json::Map<String, Value> = parameters
        .iter()
        .map(|(name, expression)| (name.to_string(), json!(expression)))
        .collect();
    let value = json!({
        "operationId": operation_id,
        "description": description,
        "parameters": parameters,
    });
    match serde_json::from_value::<Link>(value.clone()) {
        Ok(l) => {
            debug_assert_eq!(serde_json::to_value(&l).ok(), Some(value));
            l
        }
        Err(e) => panic!("a link does not parse: {e}"),
    }
}

/// Adds the links to the responses they start from. A link to an operation
/// or a response that is not in the document is a bug caught by the
/// document's tests.
pub fn add(doc: &mut Document) {
    for (path, method, statuses, links) in LINKS {
        let Some(item) = doc.paths.paths.get_mut(*path) else {
            continue;
        };
        let op = match *method {
            "post" => item.post.as_mut(),
            "patch" => item.patch.as_mut(),
            _ => None,
        };
        let Some(op) = op else { continue };
        for status in *statuses {
            if let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) {
                for (name, operation_id, description, parameters) in *links {
                    response.links.insert(
                        name.to_string(),
                        RefOr::T(link(operation_id, description, parameters)),
                    );
                }
            }
        }
    }
}
