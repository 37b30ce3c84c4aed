#!/usr/bin/env bash
# The Standard Webhooks library for Python (pinned, from PyPI) in a
# virtualenv under target/webhook-verifier-venv (reinstalled only when its
# version is not the pinned one), for the server's test that verifies a
# real delivery's signature with a receiver's library rather than our own
# code (crates/verdict-server/tests/it/webhook_send.rs, which runs
# .ci/webhook_verify.py). Source it to have VERDICT_WEBHOOK_VERIFIER (the
# venv's Python) exported (.ci/run does); run it to install and print it:
#
#   . .ci/webhook-verifier.sh
#   bash .ci/webhook-verifier.sh
[[ "${BASH_SOURCE[0]}" == "$0" ]] && set -euo pipefail
STANDARDWEBHOOKS_VERSION=1.3.0
whv_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
whv_venv=$whv_root/target/webhook-verifier-venv
if [ "$("$whv_venv/bin/python" "$whv_root/.ci/webhook_verify.py" --version 2>/dev/null)" != "$STANDARDWEBHOOKS_VERSION" ]; then
  echo "== standardwebhooks $STANDARDWEBHOOKS_VERSION in $whv_venv"
  python3 -m venv "$whv_venv"
  "$whv_venv/bin/pip" install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
fi
export VERDICT_WEBHOOK_VERIFIER=$whv_venv/bin/python
echo "standardwebhooks $STANDARDWEBHOOKS_VERSION: $VERDICT_WEBHOOK_VERIFIER"
