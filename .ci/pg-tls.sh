#!/usr/bin/env bash
# TLS on the local PostgreSQL, so every PostgreSQL test runs over TLS with
# the strictest check (sslmode=verify-full): a throwaway CA, a server
# certificate for the host name `localhost` and a client certificate (for
# user postgres), made with openssl in target/pg-tls/ and kept while they
# are valid for another week; the server's pair copied into the data
# directory (owned by postgres, key mode 0600), then
#
#   ALTER SYSTEM SET ssl_cert_file, ssl_key_file, ssl_ca_file, ssl = on
#   SELECT pg_reload_conf()
#
# through psql -h 127.0.0.1 -U postgres. Plain TCP keeps working (pg_hba's
# `host` lines match both); ssl_ca_file only lets the server check a client
# certificate when one is sent. Then exported:
#
#   VERDICT_TEST_POSTGRES_URL          postgres://postgres@localhost:5432/postgres?sslmode=verify-full&sslrootcert=CA
#   VERDICT_TEST_POSTGRES_TLS_ROOTCERT the CA certificate (client.crt and client.key beside it)
#   VERDICT_REQUIRE_POSTGRES_TLS=1     the TLS tests fail instead of skipping
#
# Idempotent: running it again reuses the certificates and settings.
#
#   . .ci/pg-tls.sh
pg_tls_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_tls_dir=$pg_tls_root/target/pg-tls
pg_tls_psql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -U postgres -d postgres "$@"; }

mkdir -p "$pg_tls_dir"
# Reused while every file is there and the certificates last another week.
if ! { [ -s "$pg_tls_dir/client.key" ] && [ -s "$pg_tls_dir/server.key" ] &&
  openssl x509 -checkend 604800 -noout -in "$pg_tls_dir/ca.crt" >/dev/null 2>&1 &&
  openssl x509 -checkend 604800 -noout -in "$pg_tls_dir/server.crt" >/dev/null 2>&1 &&
  openssl x509 -checkend 604800 -noout -in "$pg_tls_dir/client.crt" >/dev/null 2>&1; }; then
  echo "== a throwaway CA and certificates in $pg_tls_dir"
  (
    set -euo pipefail
    cd "$pg_tls_dir"
    rm -f ./*.crt ./*.key ./*.csr ./*.srl ./*.ext
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 90 -subj "/CN=Verdict CI throwaway CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
    # name: the subject's CN; ext: the certificate's extensions.
    issue() {
      local name=$1 cn=$2 ext=$3
      key "$name.key"
      openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
      printf '%s\n' "$ext" >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -sha256 -days 90 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    }
    issue server localhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost"
    issue client postgres "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    chmod 0600 ./*.key
    rm -f ./*.csr ./*.ext ./*.srl
  ) || return 1 2>/dev/null || exit 1
fi

pg_tls_data=$(pg_tls_psql -At -c "SHOW data_directory") || { return 1 2>/dev/null || exit 1; }
# In the data directory: readable by the postgres user whatever the
# permissions of the path to this checkout.
install -o postgres -g postgres -m 0644 "$pg_tls_dir/server.crt" "$pg_tls_data/verdict-ci-server.crt"
install -o postgres -g postgres -m 0600 "$pg_tls_dir/server.key" "$pg_tls_data/verdict-ci-server.key"
install -o postgres -g postgres -m 0644 "$pg_tls_dir/ca.crt" "$pg_tls_data/verdict-ci-ca.crt"
pg_tls_psql >/dev/null <<SQL || { return 1 2>/dev/null || exit 1; }
ALTER SYSTEM SET ssl_cert_file = '$pg_tls_data/verdict-ci-server.crt';
ALTER SYSTEM SET ssl_key_file = '$pg_tls_data/verdict-ci-server.key';
ALTER SYSTEM SET ssl_ca_file = '$pg_tls_data/verdict-ci-ca.crt';
ALTER SYSTEM SET ssl = on;
SELECT pg_reload_conf();
SQL

# The reload is asynchronous: wait until a verify-full connection works
# (libpq's own check of the same URL the tests use).
export VERDICT_TEST_POSTGRES_TLS_ROOTCERT=$pg_tls_dir/ca.crt
export VERDICT_TEST_POSTGRES_URL="postgres://postgres@localhost:5432/postgres?sslmode=verify-full&sslrootcert=$VERDICT_TEST_POSTGRES_TLS_ROOTCERT"
export VERDICT_REQUIRE_POSTGRES_TLS=1
for _ in $(seq 50); do
  [ "$(psql -X -At "$VERDICT_TEST_POSTGRES_URL" -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null)" = t ] && break
  sleep 0.1
done
psql -X -At "$VERDICT_TEST_POSTGRES_URL" -c "SELECT 'PostgreSQL over ' || version || ', ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()" ||
  { echo "TLS on the local PostgreSQL did not come up" >&2; return 1 2>/dev/null || exit 1; }
