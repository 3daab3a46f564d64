# Sourced in the test VMs by init.sh (run.sh's) and systemd-tests.sh
# (systemd.sh's): what both report after the suite. For runc's bats suite
# the callers keep tp, tf, ts (passed, failed, skipped) and rc, and a
# per-test summary in /tmp/bats-results/summary.

# kernel_errors SINCE: kernel errors (levels 0-3) and WARNING/BUG/Oops
# reports logged after the first SINCE lines of the kernel's log, if any (a
# memory limit test's OOM kill shows here).
kernel_errors() {
    local warnings
    warnings=$(dmesg -r 2>/dev/null | tail -n +$(($1 + 1)) |
        grep -e '^<[0-3]>' -e '^<4>.*\(WARNING\|BUG\|Oops\)')
    if [ -n "$warnings" ]; then
        echo "pivot-vm: kernel errors during the run:"
        echo "$warnings" | sed 's/^/  /'
    fi
}

# bats_tally FILE TAP EXPECTED BRC: FILE's results from its TAP output
# (EXPECTED tests, bats exited BRC; a test that did not report counts as
# failed), added to the counts and the summary; rc=1 when one failed or
# bats did not exit 0.
bats_tally() {
    local f=$1 tap=$2 expected=$3 brc=$4 p s x
    p=$(grep -E '^ok [0-9]+ ' "$tap" | grep -cvi ' # skip')
    s=$(grep -E '^ok [0-9]+ ' "$tap" | grep -ci ' # skip')
    x=$(grep -cE '^not ok [0-9]+ ' "$tap")
    if [ $((p + s + x)) -lt "$expected" ]; then
        echo "pivot-vm: $f: $((expected - p - s - x)) test(s) did not report (bats exit $brc): counted as failed"
        x=$((expected - p - s))
    fi
    sed -nE -e 's/^not ok [0-9]+ (.*)/  FAIL  '"$f"': \1/p' \
        -e 's/^ok [0-9]+ (.*) # [Ss][Kk][Ii][Pp](.*)/  skip  '"$f"': \1 #\2/p' \
        -e '/# [Ss][Kk][Ii][Pp]/!s/^ok [0-9]+ (.*)/  pass  '"$f"': \1/p' "$tap" >>/tmp/bats-results/summary
    echo "pivot-vm: $f: $p passed, $x failed, $s skipped (bats exit $brc)"
    tp=$((tp + p)) tf=$((tf + x)) ts=$((ts + s))
    if [ "$x" -gt 0 ] || [ "$brc" != 0 ]; then
        rc=1
    fi
}

# bats_close FILES WITH: the per-test summary and a closing line like
# libtest's, naming the FILES run and WITH (the runtime and its settings).
bats_close() {
    local verdict=ok
    echo "pivot-vm: per test:"
    cat /tmp/bats-results/summary
    [ "$rc" = 0 ] || verdict=FAILED
    echo "test result: $verdict. $tp passed; $tf failed; $ts skipped (runc's bats: $1; $2)"
}
