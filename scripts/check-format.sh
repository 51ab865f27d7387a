#!/usr/bin/env bash
# Checks that every tracked C/C++ source and header is formatted as the
# committed .clang-format says. Prints a unified diff for each file that
# would change and exits non-zero if there is one; fix with
# `clang-format -i FILE...`. Generated code (the protobuf-c output) lives in
# the build tree, never in git, so nothing tracked is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cc')
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no tracked sources found" >&2
  exit 1
fi
bad=()
for f in "${files[@]}"; do
  if ! "$CLANG_FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
    diff -u --label "a/$f" --label "b/$f" "$f" <("$CLANG_FORMAT" "$f") || true
  fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
