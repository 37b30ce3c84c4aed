#!/usr/bin/env bash
# TestRail's own CLI, trcli (pinned, unmodified, from PyPI), for the
# TestRail compatibility test (crates/verdict/tests/it/trcli.rs):
# installed into a venv under target/, reinstalled only when its version is
# not the pinned one, and VERDICT_TRCLI set to the path of its executable.
# Source it to have the variable exported (.ci/run does); run it to install
# and print the path:
#
#   . .ci/trcli.sh
#   bash .ci/trcli.sh
[[ "${BASH_SOURCE[0]}" == "$0" ]] && set -euo pipefail
TRCLI_VERSION=1.15.3
trcli_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trcli_venv=$trcli_root/target/trcli-venv
if [ "$("$trcli_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("trcli"))' 2>/dev/null)" != "$TRCLI_VERSION" ]; then
  echo "== trcli $TRCLI_VERSION in $trcli_venv"
  python3 -m venv "$trcli_venv"
  "$trcli_venv/bin/pip" install --quiet --disable-pip-version-check "trcli==$TRCLI_VERSION"
fi
export VERDICT_TRCLI=$trcli_venv/bin/trcli
echo "trcli $TRCLI_VERSION: $VERDICT_TRCLI"
