#!/bin/sh
# Fails unless the catalog table in DOC (between the catalog-table markers) is exactly what
# GENERATOR prints; with --update, rewrites that section instead.
#   check_doc_table.sh GENERATOR DOC [--update]
set -eu
generator=$1 doc=$2
expected=$("$generator")
if [ "${3:-}" = "--update" ]; then
  tmp=$(mktemp)
  printf '%s\n' "$expected" > "$tmp.table"
  awk -v table="$tmp.table" '
    /<!-- catalog-table:end -->/ { while ((getline line < table) > 0) print line; skip = 0 }
    !skip { print }
    /<!-- catalog-table:begin -->/ { skip = 1 }' "$doc" > "$tmp"
  mv "$tmp" "$doc"
  rm -f "$tmp.table"
  echo "updated the catalog table in $doc"
  exit 0
fi
actual=$(sed -n '/<!-- catalog-table:begin -->/,/<!-- catalog-table:end -->/p' "$doc" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "The catalog table in $doc is out of date. Regenerate it:"
  echo "  $0 $generator $doc --update"
  exit 1
fi
echo "catalog table in $doc matches the catalog"
