# shellcheck shell=bash
# Shared helpers for scripts/login: the API base URL, errors, pretty JSON. Sourced, not run.
# (The cache scripts that also used it are now `tessera cache …`: docs/runbook.md.)

API_URL="${API_URL:-http://127.0.0.1:8080}"
API_URL="${API_URL%/}"

die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# pretty JSON: pretty-prints JSON with python3 when it can, else prints it as is.
pretty() {
    local body=$1
    if command -v python3 >/dev/null 2>&1 &&
        python3 -m json.tool <<<"$body" 2>/dev/null; then
        return
    fi
    printf '%s\n' "$body"
}
