"""The CI flow through a client generated from the served OpenAPI document.

.ci/openapi-clients.sh generates the package `verdict_client` with
openapi-python-client and runs this script against a live server:

    python3 .ci/openapi_client_flow.py http://127.0.0.1:PORT vdt_…

It drives what a CI job does (create a project, add cases in bulk, start a
run, record results in bulk, list them, correct one with PATCH, read its
history) only through the generated functions and models, and checks every
answer. Plain Python, no test runner: the first failed check ends it with
a message and a non-zero exit.
"""

import sys

from verdict_client import AuthenticatedClient
from verdict_client.api.cases import bulk_cases
from verdict_client.api.projects import create_project
from verdict_client.api.results import bulk_results, list_results, result_history, update_result
from verdict_client.api.runs import create_run, get_run
from verdict_client.models import (
    BulkCases,
    BulkCasesOutcomeData,
    BulkOutcomeData,
    BulkResultCleared,
    BulkResultClearedStatus,
    BulkResultRecorded,
    BulkResultRecordedStatus,
    BulkResults,
    CreateCase,
    CreateProject,
    CreateRun,
    ErrorBody,
    ExecutionPage,
    ProjectData,
    RunData,
    TestResultData,
    TestResultPage,
    UpdateResultRecorded,
    UpdateResultRecordedStatus,
)


def check(condition, what):
    if not condition:
        sys.exit(f"openapi client flow: FAILED: {what}")


def answer(response, status, model):
    """The parsed body of a detailed response, checked for status and type."""
    check(
        response.status_code == status,
        f"expected {status}, got {int(response.status_code)}: {response.content!r}",
    )
    check(isinstance(response.parsed, model), f"expected a {model.__name__}, got {response.parsed!r}")
    return response.parsed


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: openapi_client_flow.py BASE_URL TOKEN")
    base_url, token = sys.argv[1], sys.argv[2]
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    project = answer(
        create_project.sync_detailed(client=client, body=CreateProject(name="Generated client")),
        201,
        ProjectData,
    ).data
    check(project.name == "Generated client", f"project name {project.name!r}")

    titles = ["Login works", "Checkout works", "Search works"]
    outcome = answer(
        bulk_cases.sync_detailed(
            project.id,
            client=client,
            body=BulkCases(
                cases=[CreateCase(title=t, key=f"ui.Flow.case{i}") for i, t in enumerate(titles)]
            ),
        ),
        200,
        BulkCasesOutcomeData,
    ).data
    check(outcome.created == 3 and outcome.updated == 0, f"bulk cases {outcome.to_dict()}")
    cases = [c.id for c in outcome.cases]
    check([c.title for c in outcome.cases] == titles, "cases in request order")

    run = answer(
        create_run.sync_detailed(
            project.id, client=client, body=CreateRun(name="CI build 1", key="build-1")
        ),
        201,
        RunData,
    ).data
    check(run.counts.total == 3 and run.counts.not_tested == 3, f"new run counts {run.counts.to_dict()}")

    # The main CI call: every case of the run at once, both durations
    # together where they agree, one cleared.
    recorded = answer(
        bulk_results.sync_detailed(
            run.id,
            client=client,
            body=BulkResults(
                results=[
                    BulkResultRecorded(
                        test_case_id=cases[0],
                        status=BulkResultRecordedStatus.PASSED,
                        elapsed=1,
                        elapsed_ms=1500,
                    ),
                    BulkResultRecorded(
                        test_case_id=cases[1],
                        status=BulkResultRecordedStatus.FAILED,
                        note="AssertionError: expected 200 but got 500",
                        elapsed=8,
                    ),
                    BulkResultCleared(test_case_id=cases[2], status=BulkResultClearedStatus.NOT_TESTED),
                ]
            ),
        ),
        200,
        BulkOutcomeData,
    ).data
    check(recorded.updated == 3, f"bulk results {recorded.to_dict()}")
    check([r.test_case_id for r in recorded.results] == cases, "bulk results in request order")

    page = answer(list_results.sync_detailed(run.id, client=client), 200, TestResultPage)
    check(page.meta.total == 3 and page.meta.page == 1, f"list meta {page.meta.to_dict()}")
    by_case = {r.test_case_id: r for r in page.data}
    check(by_case[cases[0]].status.value == "passed", "first case passed")
    check(by_case[cases[0]].elapsed_ms == 1500, f"elapsed_ms {by_case[cases[0]].elapsed_ms}")
    check(by_case[cases[2]].status.value == "not_tested", "third case cleared")
    failed = answer(
        list_results.sync_detailed(run.id, client=client, status="failed"), 200, TestResultPage
    )
    check(failed.meta.total == 1 and failed.data[0].test_case_id == cases[1], "the failed filter")
    check(failed.data[0].note == "AssertionError: expected 200 but got 500", "the failure's note")

    # A correction: the failure was the environment.
    result_id = failed.data[0].id
    patched = answer(
        update_result.sync_detailed(
            run.id,
            result_id,
            client=client,
            body=UpdateResultRecorded(
                status=UpdateResultRecordedStatus.BLOCKED, note="Payment sandbox is down", elapsed=30
            ),
        ),
        200,
        TestResultData,
    ).data
    check(patched.status.value == "blocked" and patched.elapsed_ms == 30000, f"patched {patched.to_dict()}")
    history = answer(result_history.sync_detailed(run.id, result_id, client=client), 200, ExecutionPage)
    check(
        [e.status.value for e in history.data] == ["blocked", "failed"]
        or [e.status.value for e in history.data] == ["failed", "blocked"],
        f"history {[e.to_dict() for e in history.data]}",
    )

    counts = answer(get_run.sync_detailed(run.id, client=client), 200, RunData).data.counts
    check(
        (counts.passed, counts.failed, counts.blocked, counts.not_tested) == (1, 0, 1, 1),
        f"final counts {counts.to_dict()}",
    )
    missing = answer(get_run.sync_detailed("run_999999", client=client), 404, ErrorBody)
    check(missing.error.code == "not_found", f"the error envelope {missing.to_dict()}")

    print(
        f"openapi client flow: OK (project {project.id}, 3 cases, run {run.id}, "
        f"3 results in bulk, listed, {result_id} patched, history of {len(history.data)})"
    )


if __name__ == "__main__":
    main()
