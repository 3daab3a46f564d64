#!/usr/bin/env bash
# Compares a run of runc's integration suite (scripts/conformance/run.sh)
# with the failures docs/CONFORMANCE.md accepts, listed in
# scripts/conformance/expected-failures.tsv (file, test name, reason; one
# per line, tab-separated, '#' comments).
#
# usage: scripts/conformance/check.sh [RESULTS_DIR] [EXPECTED_TSV]
#   RESULTS_DIR   default target/conformance/pivot (its summary.tsv)
# Exit status: 0 when every failed test is an accepted one; 1 when any
# other test failed (each is printed); 2 when the inputs are missing.
# Accepted failures that passed are printed too (the list should shrink),
# but do not fail the check.
set -euo pipefail
cd "$(dirname "$0")/../.."

results=${1:-target/conformance/pivot}
expected=${2:-scripts/conformance/expected-failures.tsv}
summary=$results/summary.tsv
[ -f "$summary" ] || { echo "conformance-check: $summary is missing (run scripts/conformance/run.sh first)" >&2; exit 2; }
[ -f "$expected" ] || { echo "conformance-check: $expected is missing" >&2; exit 2; }

awk -F'\t' '
    FNR == NR {
        if ($0 ~ /^#/ || NF < 2) next
        accepted[$1 "\t" $2] = $3
        next
    }
    {
        key = $1 "\t" $3
        seen[key] = $2
        if ($2 == "fail") {
            total_fail++
            if (key in accepted) {
                ok_fail++
            } else {
                printf "UNEXPECTED FAILURE: %s: %s\n", $1, $3
                bad++
            }
        }
    }
    END {
        for (k in accepted) {
            split(k, f, "\t")
            if (!(k in seen)) {
                printf "accepted failure not in this run: %s: %s\n", f[1], f[2]
            } else if (seen[k] != "fail") {
                printf "accepted failure now %s: %s: %s (remove it from the list)\n", seen[k], f[1], f[2]
            }
        }
        printf "conformance-check: %d failed, %d of them accepted (docs/CONFORMANCE.md), %d unexpected\n", total_fail, ok_fail, bad
        exit bad > 0 ? 1 : 0
    }
' "$expected" "$summary"
