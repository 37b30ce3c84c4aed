# Sourced by the CI scripts that test a live server: `build_release` builds
# `verdict` (unless VERDICT_BIN names a binary to test instead, e.g. a debug
# build while working on a script); `serve_release` starts it as `verdict
# serve` on a fresh SQLite database in $work (admin token $TOKEN, rate limit
# off) and sets $server_pid and $url; `stop_server` (for the caller's EXIT
# trap) stops it.

VERDICT_BIN=${VERDICT_BIN:-}

server_pid=
url=

build_release() {
  if [ -z "$VERDICT_BIN" ]; then
    echo "== cargo build --release -p verdict"
    cargo build --release -p verdict
    VERDICT_BIN=target/release/verdict
  fi
}

serve_release() {
  VERDICT_DATABASE_URL="sqlite://$work/verdict.db" \
    VERDICT_ADMIN_TOKEN=$TOKEN \
    VERDICT_RATE_LIMIT_PER_MINUTE=0 \
    VERDICT_LOG=warn \
    "$VERDICT_BIN" serve --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
  server_pid=$!
  local addr=
  for _ in $(seq 100); do
    addr=$(sed -n 's/^Verdict listening on http:\/\/\(.*\)$/\1/p' "$work/stdout")
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr"; exit 1; }
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "the server did not say where it listens"; cat "$work/stderr"; exit 1; }
  url="http://$addr"
}

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}

# The above for a script that tests one server: the build, a fresh $work
# directory, the server started, and an EXIT trap that stops it and removes
# $work.
start_release_server() {
  build_release
  work=$(mktemp -d)
  trap 'stop_server; rm -rf "$work"' EXIT
  serve_release
  echo "== verdict serve on $url"
}
