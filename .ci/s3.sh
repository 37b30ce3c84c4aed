#!/usr/bin/env bash
# A real S3-compatible server for the tests of attachment storage on S3:
# moto's standalone server (pinned, from PyPI) in a virtualenv under
# target/moto-venv (reinstalled only when its version is not the pinned
# one), started on a free port of 127.0.0.1 with a bucket created, then
#
#   VERDICT_TEST_S3_URL   s3://verdict-test?endpoint=http://127.0.0.1:PORT&region=us-east-1
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION   (moto accepts any)
#
# exported. Source it (.ci/run does): the server is stopped when the
# sourcing shell exits (an EXIT trap). Run it to start a server for a
# session at a terminal; it prints the variables and waits until Ctrl-C:
#
#   . .ci/s3.sh
#   bash .ci/s3.sh
MOTO_VERSION=5.2.5
s3_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
s3_venv=$s3_root/target/moto-venv
s3_bucket=verdict-test
s3_region=us-east-1

if [ "$("$s3_venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
  echo "== moto $MOTO_VERSION in $s3_venv"
  python3 -m venv "$s3_venv"
  "$s3_venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

s3_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
s3_log=$s3_root/target/moto.log
"$s3_venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$s3_log" 2>&1 &
s3_pid=$!
s3_stop() {
  kill "$s3_pid" 2>/dev/null || true
  wait "$s3_pid" 2>/dev/null || true
}
trap s3_stop EXIT

s3_endpoint=http://127.0.0.1:$s3_port
for _ in $(seq 100); do
  curl -s -o /dev/null "$s3_endpoint/" && break
  kill -0 "$s3_pid" 2>/dev/null || break
  sleep 0.1
done
# moto needs no signature; the bucket is made in the default region.
if ! curl -sS --fail-with-body -X PUT "$s3_endpoint/$s3_bucket" >/dev/null; then
  echo "moto did not start on $s3_endpoint; its log ($s3_log):" >&2
  cat "$s3_log" >&2
  exit 1
fi

export AWS_ACCESS_KEY_ID=verdict-test
export AWS_SECRET_ACCESS_KEY=verdict-test-secret
export AWS_REGION=$s3_region
export VERDICT_TEST_S3_URL="s3://$s3_bucket?endpoint=$s3_endpoint&region=$s3_region"
echo "moto $MOTO_VERSION: $VERDICT_TEST_S3_URL (pid $s3_pid)"

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  echo "export VERDICT_TEST_S3_URL='$VERDICT_TEST_S3_URL' AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY AWS_REGION=$AWS_REGION"
  wait "$s3_pid"
fi
