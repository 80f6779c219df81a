# tests/e2e/lib.sh — a small TAP harness for end-to-end tests of `postkit`.
#
# Source it, then write cases:
#   run_pk probe --json "$f"          # sets $rc, $out (stdout file), $err (stderr file)
#   expect "probe exits 0" [ "$rc" -eq 0 ]
#   skip "needs corpora" "reason"
#   finish                            # prints the plan line
# Each expectation is one TAP line. The environment comes from tests/run:
# POSTKIT (binary), PK_ROOT, PK_CORPORA, PK_TMP.
set -u
: "${POSTKIT:?run through tests/run}"
_n=0
SUITE_TMP="$PK_TMP/$(basename "${BASH_SOURCE[1]:-$0}" .sh)"
rm -rf "$SUITE_TMP"; mkdir -p "$SUITE_TMP"
out="$SUITE_TMP/stdout"; err="$SUITE_TMP/stderr"; rc=0

run_pk() {
  "$POSTKIT" "$@" >"$out" 2>"$err"
  rc=$?
}

# expect NAME COMMAND... — passes when COMMAND succeeds.
expect() {
  local name=$1; shift
  _n=$((_n + 1))
  if "$@"; then
    echo "ok $_n - $name"
  else
    echo "not ok $_n - $name"
    echo "# command: $*" ; echo "# exit: $rc"
    sed -n '1,5p' "$err" 2>/dev/null | sed 's/^/# stderr: /'
  fi
}

skip() {
  _n=$((_n + 1))
  echo "ok $_n - $1 # SKIP $2"
}

# have_corpus SUBDIR — the shared corpora folder (or a part of it) exists.
have_corpus() { [ -d "$PK_CORPORA/${1:-}" ]; }

# A sanitizer report in stderr is always a failure, whatever the exit code.
no_sanitizer_report() { ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$err"; }

# stderr is exactly one line that names the file (the error format).
one_line_naming() { [ "$(wc -l <"$err")" -eq 1 ] && grep -qF -- "$1" "$err"; }

finish() { echo "1..$_n"; }
