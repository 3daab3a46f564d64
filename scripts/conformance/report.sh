#!/usr/bin/env bash
# Prints a Markdown table of per-file results from one or more result
# directories written by run.sh (their summary.tsv), one column group per
# runtime, for docs/CONFORMANCE.md.
#
# usage: scripts/conformance/report.sh DIR [DIR ...]
#   e.g. scripts/conformance/report.sh target/conformance/{pivot,runc,crun}
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 RESULTS_DIR..." >&2; exit 2; }
for d in "$@"; do
    [ -f "$d/summary.tsv" ] || { echo "report.sh: $d/summary.tsv: missing" >&2; exit 1; }
done

tsvs=()
for d in "$@"; do tsvs+=("$d/summary.tsv"); done
awk -F'\t' '
    FNR == 1 { r++; split(FILENAME, parts, "/"); name[r] = parts[length(parts) - 1] }
    {
        if (!($1 in seen)) { seen[$1] = 1; files[++nf] = $1 }
        count[r, $1, $2]++; tot[r, $2]++
    }
    END {
        printf "| file |"; for (i = 1; i <= r; i++) printf " %s pass / fail / skip |", name[i]; print ""
        printf "| --- |"; for (i = 1; i <= r; i++) printf " ---: |"; print ""
        for (k = 1; k <= nf; k++) {
            f = files[k]; printf "| %s |", f
            for (i = 1; i <= r; i++)
                printf " %d / %d / %d |", count[i, f, "pass"], count[i, f, "fail"], count[i, f, "skip"]
            print ""
        }
        printf "| **total** |"
        for (i = 1; i <= r; i++) printf " **%d / %d / %d** |", tot[i, "pass"], tot[i, "fail"], tot[i, "skip"]
        print ""
    }' "${tsvs[@]}"
