#!/usr/bin/env bash
# The test phase of `npm test` (and so of CI): unit, integration and browser tests two files at a
# time, then the fault-injection suite (test/faults: killed processes, a 3-node cluster, 100-agent
# fleets) one file at a time, because those cases load the whole machine and would starve the
# timing bounds of whatever runs beside them. Ends with one "N passed, N failed" line for both.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
status=0
phase() {
  local out
  out=$(mktemp)
  node --test --test-reporter=spec "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -E '^ℹ pass [0-9]+' "$out" | tail -n 1 | awk '{print $3}')
  f=$(grep -E '^ℹ fail [0-9]+' "$out" | tail -n 1 | awk '{print $3}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi # a crash before any summary
  [ "$rc" -eq 0 ] || status=1
  rm -f "$out"
}
phase --test-concurrency=2 dist/test/unit dist/test/integration dist/test/browser
phase --test-concurrency=1 dist/test/faults
echo "${passed} passed, ${failed} failed"
exit "$status"
