#!/usr/bin/perl
# Sorts the CPU samples of one command name into where they were spent: the
# system call they were in (outermost __x64_sys_* / __do_sys_* frame), page
# faults, other kernel work, or the user-space object (pivot, libc, ld.so).
#
# usage: perf script -i perf.data --comms pivot -F comm,tid,ip,sym,dso \
#            | perl scripts/bench/perf-categories.pl pivot
use strict;
use warnings;

my $comm = shift // 'pivot';
my (%count, $total, @frames);

sub flush {
    return unless @frames;
    my $cat;
    for my $f (reverse @frames) {    # outermost frame first
        if ($f =~ /\s(?:__x64_sys_|__do_sys_|__se_sys_)(\w+)\s/) {
            $cat = "syscall $1";
            last;
        }
    }
    if (!$cat && grep { /exc_page_fault/ } @frames) {
        $cat = 'page faults';
    }
    if (!$cat) {
        my ($dso) = $frames[0] =~ /\((\S+)\)\s*$/;
        $dso //= '?';
        $dso =~ s#.*/##;
        $cat = $dso eq '[kernel.kallsyms]'
            ? 'kernel, no syscall (fork return, irq, scheduler)'
            : "user space: $dso";
    }
    $count{$cat}++;
    $total++;
    @frames = ();
}

while (<STDIN>) {
    if (/^\Q$comm\E\s/) {
        flush();
    } elsif (/^\s+[0-9a-f]+ /) {
        push @frames, $_;
    }
}
flush();
die "no samples of $comm\n" unless $total;
my $shown = 0;
for my $k (sort { $count{$b} <=> $count{$a} } keys %count) {
    my $pct = 100 * $count{$k} / $total;
    if ($pct < 0.5) {
        $shown += $count{$k};
        next;
    }
    printf "%6.1f%%  %s\n", $pct, $k;
}
printf "%6.1f%%  (each below 0.5%%)\n", 100 * $shown / $total if $shown;
printf "%d samples\n", $total;
