#!/bin/sh
# SPDX-License-Identifier: ISC
# Every section of the wire profile that a C source or header cites as
# "PROFILE §N" or "wire-profile §N" (also §N.M, lists such as "§2, §11",
# "§8 and §9", ranges "§3-§5" and comments broken across lines) must be a
# heading of docs/wire-profile.md ("## §N ..." or "### §N.M ...").
# Usage: tests/docs_refs.sh [source root]; exit 1 lists what is missing.
set -eu

root=${1:-.}
doc="$root/docs/wire-profile.md"
if [ ! -f "$doc" ]; then
    echo "docs-check: $doc not found" >&2
    exit 2
fi

find "$root" \( -name .git -o -path "$root/build*" \) -prune -o \
    -type f \( -name '*.c' -o -name '*.h' \) -print |
LC_ALL=C sort |
perl -e '
    use strict;
    use warnings;
    my $doc = shift @ARGV;

    # Sections the document has: headings that start with §N or §N.M.
    my %have;
    open(my $d, "<", $doc) or die "docs-check: $doc: $!\n";
    while (<$d>) {
        $have{$1} = 1 if /^#{1,6}\s+\x{c2}\x{a7}(\d+(?:\.\d+)*)/;
    }
    close $d;

    my $sec = qr/\x{c2}\x{a7}(\d+(?:\.\d+)*)/;   # the octets of U+00A7
    my $gap = qr/(?:\s|\*|\/\/)*/;              # spaces, comment line starts
    my $dash = qr/(?:-|\x{e2}\x{80}\x{93})/;    # - or an en dash
    # After "PROFILE": a section, then more joined by ",", "and" or a dash;
    # one lowercase word may precede a listed section ("§7, layout §11").
    my $list = qr/$sec(?:$gap(?:$dash$gap(?:\x{c2}\x{a7})?\d+(?:\.\d+)*
                                |(?:,|and)$gap(?:[a-z]+$gap)?$sec))*/x;

    my (%cited, $n);
    while (my $file = <STDIN>) {
        chomp $file;
        open(my $f, "<:raw", $file) or die "docs-check: $file: $!\n";
        local $/;
        my $text = <$f>;
        close $f;
        while ($text =~ /\b(?:PROFILE|wire-profile(?:\.md)?)$gap($list)/g) {
            my $cite = $1;
            my $at = $file . ":" . (1 + (() = substr($text, 0, $-[0]) =~ /\n/g));
            $n++;
            # Ranges: §3-§5 and §4-5 cite every section between. A bare
            # upper end takes the parent of the lower one: §12.4-6 is §12.4-§12.6.
            while ($cite =~ /$sec$gap$dash$gap(\x{c2}\x{a7})?(\d+(?:\.\d+)*)/g) {
                my ($lo, $marked, $hi) = ($1, $2, $3);
                my ($parent, $first) = $lo =~ /^((?:\d+\.)*)(\d+)$/;
                $hi = $parent . $hi unless $marked || $hi =~ /\./;
                my ($hparent, $last) = $hi =~ /^((?:\d+\.)*)(\d+)$/;
                next unless $hparent eq $parent && $first <= $last;
                push @{ $cited{"$parent$_"} }, $at for $first .. $last;
            }
            while ($cite =~ /$sec/g) {
                push @{ $cited{$1} }, $at;
            }
        }
    }

    sub by_number {
        my @x = split /\./, $a;
        my @y = split /\./, $b;
        while (@x && @y) {
            my $c = shift(@x) <=> shift(@y);
            return $c if $c;
        }
        return @x <=> @y;
    }
    my @missing = grep { !$have{$_} } sort by_number keys %cited;
    if (@missing) {
        print STDERR "docs-check: sections cited in the sources but not headings of $doc:\n";
        for my $s (@missing) {
            my %seen;
            my @at = grep { !$seen{$_}++ } @{ $cited{$s} };
            splice(@at, 3, @at - 3, "...") if @at > 3;
            print STDERR "  \x{c2}\x{a7}$s  (", join(", ", @at), ")\n";
        }
        exit 1;
    }
    printf "docs-check: %d citations of %d sections, all headings of %s\n",
        $n // 0, scalar(keys %cited), $doc;
' "$doc"
