#!/bin/sh
# Fails unless the catalog table in DOC (between the catalog-table markers) is exactly what
# GENERATOR prints. Usage: check_doc_table.sh GENERATOR DOC
set -eu
expected=$("$1")
actual=$(sed -n '/<!-- catalog-table:begin -->/,/<!-- catalog-table:end -->/p' "$2" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "The catalog table in $2 is out of date; regenerate it with $1 (see the file's comment)."
  exit 1
fi
echo "catalog table in $2 matches the catalog"
