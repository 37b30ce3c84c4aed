#!/usr/bin/env bash
# axe-core (pinned) for the accessibility test
# (crates/verdict/tests/it/accessibility.rs): installed from npm into
# target/axe, reinstalled only when its version is not the pinned one, and
# VERDICT_AXE_JS set to the path of its axe.min.js. Source it to have the
# variable exported (.ci/run does); run it to install and print the path:
#
#   . .ci/axe.sh
#   bash .ci/axe.sh
#
# Only the test reads the file (from disk, injected into each page over
# WebDriver); the product never loads or serves it.
[[ "${BASH_SOURCE[0]}" == "$0" ]] && set -euo pipefail
AXE_VERSION=4.14.1
axe_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
axe_prefix=$axe_root/target/axe
axe_dir=$axe_prefix/node_modules/axe-core
if [ "$(node -p "require('$axe_dir/package.json').version" 2>/dev/null)" != "$AXE_VERSION" ] ||
  [ ! -f "$axe_dir/axe.min.js" ]; then
  echo "== axe-core $AXE_VERSION in $axe_prefix"
  npm install --silent --no-audit --no-fund --save-exact --prefix "$axe_prefix" "axe-core@$AXE_VERSION"
fi
export VERDICT_AXE_JS=$axe_dir/axe.min.js
echo "axe-core $AXE_VERSION: $VERDICT_AXE_JS"
