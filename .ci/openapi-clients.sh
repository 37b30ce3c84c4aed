#!/usr/bin/env bash
# The published OpenAPI document, tried as a new user would: against a
# release build of `verdict serve` on a fresh SQLite database,
#   1. `redocly lint` (@redocly/cli, pinned) with .ci/redocly.yaml: no errors;
#   2. openapi-python-client (pinned) generates a client from the served
#      document with .ci/openapi-python-client.yaml, failing on any warning
#      and on any endpoint it leaves out;
#   3. .ci/openapi_client_flow.py drives create project → bulk cases → run →
#      bulk results → list → PATCH → history through the generated client.
# The tools go into target/ (a venv and a node prefix), reinstalled only
# when their version is not the pinned one. Exits non-zero on any failure.
#
#   bash .ci/openapi-clients.sh
#   VERDICT_BIN=target/debug/verdict bash .ci/openapi-clients.sh   # no release build
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
REDOCLY_VERSION=2.77.0
TOKEN=vdt_openapi_clients_0123456789abcdef
VENV=target/openapi-client-venv
NODE_PREFIX=target/redocly

echo "== openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION in $VENV"
if [ "$("$VENV/bin/openapi-python-client" --version 2>/dev/null)" != "openapi-python-client version: $OPENAPI_PYTHON_CLIENT_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
redocly=$NODE_PREFIX/node_modules/.bin/redocly
echo "== @redocly/cli $REDOCLY_VERSION in $NODE_PREFIX"
if [ "$("$redocly" --version 2>/dev/null | tail -1)" != "$REDOCLY_VERSION" ]; then
  npm install --silent --no-audit --no-fund --prefix "$NODE_PREFIX" "@redocly/cli@$REDOCLY_VERSION"
fi

# shellcheck source=.ci/serve.sh
. .ci/serve.sh
start_release_server
# At a fixed path: .ci/.redocly.lint-ignore.yaml names problems by file.
out=target/openapi-clients
rm -rf "$out" && mkdir -p "$out"
curl -sS --fail-with-body "$url/openapi.json" -o "$out/openapi.json"

echo "== redocly lint (.ci/redocly.yaml)"
# Every rule is an error; a problem is only ignored by location in
# .ci/.redocly.lint-ignore.yaml, with its reason. No usage data sent.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$redocly" lint --config .ci/redocly.yaml --format stylish "$out/openapi.json"

echo "== openapi-python-client generate (.ci/openapi-python-client.yaml)"
status=0
"$VENV/bin/openapi-python-client" generate --path "$out/openapi.json" \
  --config .ci/openapi-python-client.yaml --meta none --output-path "$out/verdict_client" \
  --fail-on-warning >"$out/generate.out" 2>&1 || status=$?
cat "$out/generate.out"
if [ "$status" != 0 ] || grep -qi "will not be generated\|warning" "$out/generate.out"; then
  echo "openapi-python-client left something out or warned (exit $status)"
  exit 1
fi
operations=$(python3 -c 'import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(m in ("get", "put", "post", "patch", "delete") for item in doc["paths"].values() for m in item))' "$out/openapi.json")
generated=$(find "$out/verdict_client/api" -name '*.py' ! -name '__init__.py' | wc -l)
echo "== $generated of the document's $operations operations generated"
[ "$generated" = "$operations" ] || { echo "operations missing from the generated client"; exit 1; }

echo "== the CI flow through the generated client"
PYTHONPATH="$out" "$VENV/bin/python" .ci/openapi_client_flow.py "$url" "$TOKEN"

if grep -q "internal error" "$work/stderr"; then
  echo "the server logged internal errors:"
  grep "internal error" "$work/stderr" | head -20
  exit 1
fi
echo "== openapi clients: lint clean, $generated operations generated, the flow passed"
