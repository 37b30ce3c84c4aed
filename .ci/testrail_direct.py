#!/usr/bin/env python3
"""A script written against the TestRail API v2 the way TestRail's own
examples are: a small APIClient (urllib, HTTP Basic auth, JSON), then
`add_results_for_cases/<run>` with every result in one call, and
`get_results_for_run/<run>` read back page by page following
`_links.next`. Nothing in it knows it talks to Verdict.

    python3 .ci/testrail_direct.py URL EMAIL API_KEY RUN_ID CASE_ID...

Prints one JSON line: what was sent and what was read back.
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.request


class APIError(Exception):
    pass


class APIClient:
    """TestRail API v2 over HTTP: `send_get('get_case/1')`,
    `send_post('add_result/1', {...})`."""

    def __init__(self, base_url):
        self.user = ""
        self.password = ""
        if not base_url.endswith("/"):
            base_url += "/"
        self.__url = base_url + "index.php?/api/v2/"

    def send_get(self, uri):
        return self.__send_request("GET", uri, None)

    def send_post(self, uri, data):
        return self.__send_request("POST", uri, data)

    def __send_request(self, method, uri, data):
        url = self.__url + uri
        request = urllib.request.Request(url, method=method)
        credentials = "%s:%s" % (self.user, self.password)
        auth = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        request.add_header("Authorization", "Basic %s" % auth)
        request.add_header("Content-Type", "application/json")
        body = None
        if method == "POST":
            body = json.dumps(data).encode("utf-8")
        try:
            with urllib.request.urlopen(request, body) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        result = json.loads(raw.decode("utf-8")) if raw else {}
        if status != 200:
            error = result.get("error") if isinstance(result, dict) else None
            raise APIError(
                'TestRail API returned HTTP %s ("%s")' % (status, error or "No additional error message received")
            )
        return result


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    url, email, key, run_id = argv[1], argv[2], argv[3], int(argv[4])
    case_ids = [int(c) for c in argv[5:]]

    client = APIClient(url)
    client.user = email
    client.password = key

    # Every result in one call, as pipelines that report once at the end do.
    statuses = [1, 5, 2, 4]
    results = []
    for i, case_id in enumerate(case_ids):
        status = statuses[i % len(statuses)]
        entry = {
            "case_id": case_id,
            "status_id": status,
            "comment": "automated result %d" % i,
            "elapsed": "%dm %ds" % (i // 60, i % 60 + 1),
            "version": "build-42",
        }
        if status == 5:
            entry["defects"] = "BUG-%d" % i
        results.append(entry)
    started = time.monotonic()
    added = client.send_post("add_results_for_cases/%d" % run_id, {"results": results})
    add_seconds = time.monotonic() - started
    if len(added) != len(results):
        raise APIError("%d results sent, %d answered" % (len(results), len(added)))

    # Read them back, 100 at a time, following the links.
    started = time.monotonic()
    read, pages = [], 0
    uri = "get_results_for_run/%d&limit=100" % run_id
    while uri:
        page = client.send_get(uri)
        pages += 1
        read.extend(page["results"])
        nxt = page["_links"]["next"]
        uri = nxt.replace("/api/v2/", "", 1) if nxt else None

    read_seconds = time.monotonic() - started
    by_status = {}
    for r in read:
        by_status[str(r["status_id"])] = by_status.get(str(r["status_id"]), 0) + 1
    print(
        json.dumps(
            {
                "sent": len(results),
                "answered": len(added),
                "read": len(read),
                "pages": pages,
                "distinct_ids": len({r["id"] for r in read}),
                "by_status": by_status,
                "first": read[0] if read else None,
                "add_seconds": round(add_seconds, 3),
                "read_seconds": round(read_seconds, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
