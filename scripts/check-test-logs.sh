#!/usr/bin/env bash
# Greps the logs of a full test run (written by tests/api/helpers.rs through
# the service's redaction layer) for what must never be logged in full:
# access codes and other runs of 4+ digits (dates, UUIDs, ports and
# durations aside), phone numbers, and the secrets the tests configure.
# CI runs it right after `cargo test`; run it the same way by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-${CARGO_TARGET_DIR:-target}/tmp/test-logs}

shopt -s nullglob
files=("$dir"/*.log)
if [ ${#files[@]} -eq 0 ]; then
  echo "check-test-logs: no logs in $dir: run cargo test first" >&2
  exit 1
fi

exec perl -e '
  use strict; use warnings; use utf8;
  binmode STDOUT, ":utf8";
  # The secrets the tests configure (tests/api/*.rs).
  my @secrets = qw(
    test-admin-token-0123456789 conversation-app-secret meta-app-secret
    telegram-webhook-secret-0123 ABC-test-token nuki-test-token-5f1c0e9a7b2d4c68
    nuki-test-token-0123456789 seam_test1234_abcdefghijklmnopqrstuvwx
    seam_test_key_0123456789 whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD
  );
  my $keep = qr{
      \d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?
    | \b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b
    | (?:\d{1,3}\.){3}\d{1,3}:\d{1,5}\b
    | \blocalhost:\d{1,5}\b
    | \b\d+\.\d+(?:ns|µs|us|ms|s)?\b
    | \(\#\d{1,7}\)
    | "(?:job\.id|job_id|attempt|attempts|status|port|pid|released)":\d+
    | \b(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b
  }x;
  my ($lines, $bad) = (0, 0);
  for my $file (@ARGV) {
    open my $fh, "<:utf8", $file or die "$file: $!";
    while (my $line = <$fh>) {
      $lines++;
      my @why;
      for my $secret (@secrets) { push @why, "a secret" if index($line, $secret) >= 0 }
      (my $rest = $line) =~ s/$keep//g;
      push @why, "the digits $1" if $rest =~ /(\d{4,})/;
      if (@why) {
        $bad++;
        print "$file:$.: ", join(", ", @why), "\n  ", substr($line, 0, 400), "\n" if $bad <= 20;
      }
    }
  }
  die "check-test-logs: only $lines log lines: the test run did not log\n" if $lines < 1000;
  if ($bad) { print "check-test-logs: $bad of $lines lines show a code, a phone number or a secret\n"; exit 1 }
  print "check-test-logs: $lines lines, no code, phone number or secret in full\n";
' "${files[@]}"
