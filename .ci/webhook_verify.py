"""Verifies one webhook delivery with the Standard Webhooks library (not
Verdict's own code), as a receiver would. Used by the server's test
webhook_send::signature_verifies_with_the_standard_webhooks_library.

    python webhook_verify.py SECRET HEADERS_JSON BODY_FILE

SECRET is the webhook's `whsec_...` secret; HEADERS_JSON a file holding the
request's headers as one JSON object; BODY_FILE the body's bytes as
received. Prints "verified" and exits 0, or prints the library's reason and
exits 1. `python webhook_verify.py --version` prints the library's version.
"""

import json
import sys
from importlib.metadata import version

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main(argv):
    if argv[1:] == ["--version"]:
        print(version("standardwebhooks"))
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    secret, headers_path, body_path = argv[1:]
    with open(headers_path, encoding="utf-8") as f:
        headers = json.load(f)
    with open(body_path, "rb") as f:
        body = f.read()
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as e:
        print(f"not verified: {e}")
        return 1
    print("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
