#!/usr/bin/env bash
# buf breaking against main: on a branch, against origin/main (or local main); on main itself,
# against the previous commit, so a change that landed on main is still checked once.
set -euo pipefail
cd "$(dirname "$0")/.."
branch=$(git rev-parse --abbrev-ref HEAD)
against=""
for ref in origin/main main; do
  if [ "$branch" != "main" ] && git rev-parse -q --verify "$ref" >/dev/null; then against="$ref"; break; fi
done
if [ -z "$against" ] && git rev-parse -q --verify HEAD~1 >/dev/null; then against="HEAD~1"; fi
if [ -z "$against" ] || ! git cat-file -e "$against:proto" 2>/dev/null; then
  echo "buf breaking: no earlier proto/ to compare against; skipped"
  exit 0
fi
# Only our own API (proto/pos): vendored modules are copied unchanged, and adding one would
# otherwise fail the comparison on the module count alone.
npx buf breaking --against ".git#ref=$(git rev-parse "$against")" --path proto/pos
echo "buf breaking: no breaking changes against $against"
