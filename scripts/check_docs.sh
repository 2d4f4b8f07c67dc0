#!/usr/bin/env bash
# Documentation checks: CITATION.cff against the Citation File Format schema, then a strict
# MkDocs build (any warning, such as a broken link, a missing page or an unresolved API
# reference, fails). Needs the `docs` and `release` extras (mkdocs-material, mkdocstrings,
# cffconvert). The site goes to $GRL_SITE_DIR (default: a temp dir, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

cffconvert --validate --infile CITATION.cff

if [[ -n "${GRL_SITE_DIR:-}" ]]; then
    site="$GRL_SITE_DIR"
else
    site=$(mktemp -d)
    trap 'rm -rf "$site"' EXIT
fi
# Material prints a banner about MkDocs 2 on every build; it is not a warning of ours.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --clean --site-dir "$site"
echo "docs checks passed in $(($(date +%s) - start)) s"
