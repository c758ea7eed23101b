#!/usr/bin/env bash
# Fails when gen/ is not what `npm run gen` produces from proto/ (generated code is committed and
# never edited by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s gen
if ! git diff --quiet --exit-code -- gen || [ -n "$(git ls-files --others --exclude-standard gen)" ]; then
  echo "gen/ is stale: run 'npm run gen' and commit the result" >&2
  git status --short gen >&2
  exit 1
fi
echo "gen/ is up to date"
