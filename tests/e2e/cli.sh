#!/usr/bin/env bash
# tests/e2e/cli.sh — the command line is derived from the operation table:
# `postkit --help` lists every registered operation, every `postkit OP --help`
# works, `--version` names the version and the git revision, and the README's
# command reference is the one the binary generates (scripts/update-readme).
# The list of operations is read from the sources (src/core/registry.c and
# the descriptors), not from the binary, so a table the CLI ignores is caught.
. "$(dirname "$0")/lib.sh"

# Operation names from the sources: the registry's &pk_op_X entries, each
# resolved to the .name of its descriptor `const pk_op pk_op_X = {`.
registry_names() {
  local sym file
  sed -n '/registry\[\] *= *{/,/};/p' "$PK_ROOT/src/core/registry.c" | grep -oE '&pk_op_[A-Za-z0-9_]+' |
    sed 's/^&//' | while read -r sym; do
      file=$(grep -rlE "^const pk_op $sym *= *\{" "$PK_ROOT/src" | head -1)
      [ -n "$file" ] || { echo "?$sym"; continue; }
      sed -n "/^const pk_op $sym *= *{/,/^};/p" "$file" | sed -n 's/^ *\.name *= *"\([^"]*\)".*/\1/p' | head -1
    done
}
mapfile -t ops < <(registry_names)
expect "the registry lists operations, each with a descriptor" \
  eval '[ "${#ops[@]}" -gt 0 ] && ! printf "%s\n" "${ops[@]}" | grep -q "^?"'

run_pk --help
expect "--help exits 0" [ "$rc" -eq 0 ]
expect "--help writes nothing on stderr" [ ! -s "$err" ]
cp "$out" "$SUITE_TMP/help.txt"
for op in "${ops[@]}"; do
  expect "--help lists '$op'" grep -qE "^  $op  " "$SUITE_TMP/help.txt"
done
listed=$(grep -cE '^  [a-z]' "$SUITE_TMP/help.txt")
expect "--help lists nothing but the registry (${#ops[@]} operations, --version)" \
  [ "$listed" -eq $((${#ops[@]} + 1)) ]
run_pk -h
expect "-h is --help" cmp -s "$out" "$SUITE_TMP/help.txt"
run_pk help
expect "'help' is --help" cmp -s "$out" "$SUITE_TMP/help.txt"

for op in "${ops[@]}"; do
  # shellcheck disable=SC2086 # an operation name may be two words
  run_pk $op --help
  expect "'$op --help' exits 0" [ "$rc" -eq 0 ]
  expect "'$op --help' starts with its usage line" grep -qE "^Usage: postkit $op " "$out"
  expect "'$op --help' shows the common options and exit codes" \
    eval 'grep -qF -- "--json" "$out" && grep -qF -- "--threads" "$out" && grep -qF "Exit status:" "$out"'
  expect "'$op --help' writes nothing on stderr" [ ! -s "$err" ]
  expect "'$op --help' no sanitizer report" no_sanitizer_report
  # --help wins over everything else on the line, even a bad option.
  # shellcheck disable=SC2086
  run_pk $op --no-such-option --help
  expect "'$op --no-such-option --help' still shows help" eval '[ "$rc" -eq 0 ] && grep -q "^Usage:" "$out"'
done

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$PK_ROOT/meson.build" | head -1)
run_pk --version
expect "--version exits 0" [ "$rc" -eq 0 ]
expect "--version prints 'postkit $version (git REVISION)'" \
  grep -qE "^postkit $(printf '%s' "$version" | sed 's/\./\\./g') \(git [0-9a-f]{7,}(-dirty)?\)$" "$out"

# ---- the README's command reference ---------------------------------------
run_pk --reference-markdown
expect "--reference-markdown exits 0" [ "$rc" -eq 0 ]
ref="$SUITE_TMP/reference.md"
cp "$out" "$ref"
for op in "${ops[@]}"; do
  expect "the reference has a section for '$op'" grep -qxF "### postkit $op" "$ref"
done
# Every link of the table must reach a heading: GitHub's anchor of a heading
# is its text in lower case, spaces as hyphens, punctuation dropped.
anchors_resolve() {
  local link slug ok=0
  while read -r link; do
    slug=$(grep -E '^#+ ' "$ref" | sed -E 's/^#+ //' | tr 'A-Z' 'a-z' | tr ' ' '-' | tr -cd 'a-z0-9_\n-' |
      grep -cxF -- "$link")
    [ "$slug" -eq 1 ] || { echo "# no heading for #$link" >&2; ok=1; }
  done < <(grep -oE '\]\(#[^)]*\)' "$ref" | sed -E 's/^\]\(#//; s/\)$//')
  return $ok
}
expect "every link of the reference reaches its heading" anchors_resolve
links=$(grep -cE '\]\(#' "$ref")
expect "the reference table links every operation" [ "$links" -eq "${#ops[@]}" ]

updater="$PK_ROOT/scripts/update-readme"
readme_fresh() { "$updater" --check "$POSTKIT" "$PK_ROOT/README.md" >"$err" 2>&1; }
expect "README.md's command reference is up to date (else: make readme)" readme_fresh
# The check must be able to fail: a copy with an edited reference is stale,
# and updating the copy makes it fresh again without touching the rest.
copy="$SUITE_TMP/README.md"
cp "$PK_ROOT/README.md" "$copy"
sed -i 's/^### postkit \(.*\)$/### postkit \1 (edited)/' "$copy"
printf '\nA paragraph after the reference.\n' >>"$copy"
stale() { ! "$updater" --check "$POSTKIT" "$copy" >/dev/null 2>&1; }
expect "a README with an edited reference is found stale" stale
updated() {
  "$updater" "$POSTKIT" "$copy" >/dev/null 2>&1 &&
    "$updater" --check "$POSTKIT" "$copy" >/dev/null 2>&1 &&
    grep -qxF 'A paragraph after the reference.' "$copy" &&
    ! grep -q '(edited)' "$copy"
}
expect "update-readme repairs it and keeps the text around the markers" updated
printf '# no markers\n' >"$copy"
no_markers() { ! "$updater" --check "$POSTKIT" "$copy" >/dev/null 2>&1; }
expect "update-readme refuses a README without markers" no_markers

finish
