# shellcheck shell=bash
# Shared helpers for the admin scripts (cache-*, login): the API base URL, the
# bearer token and a curl wrapper that pretty-prints JSON answers. Sourced, not run.

API_URL="${API_URL:-http://127.0.0.1:8080}"
API_URL="${API_URL%/}"

die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

require_admin_token() {
    if [[ -z ${ADMIN_TOKEN:-} ]]; then
        die "ADMIN_TOKEN is not set; get one with: export ADMIN_TOKEN=\$(scripts/login EMAIL PASSWORD)"
    fi
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

# api_fetch METHOD PATH [JSON_BODY]: prints the raw answer of an admin call;
# fails (curl's status) on a transport error or an HTTP status >= 400, still
# printing the error body.
api_fetch() {
    local method=$1 path=$2 body=${3:-}
    local args=(-sS --fail-with-body -X "$method"
        -H "Authorization: Bearer $ADMIN_TOKEN"
        -H "Accept: application/json")
    if [[ -n $body ]]; then
        args+=(-H "Content-Type: application/json" --data-binary "$body")
    fi
    curl "${args[@]}" "$API_URL$path"
}

# api_call METHOD PATH [JSON_BODY]: one admin call, answer pretty-printed.
api_call() {
    local answer status=0
    require_admin_token
    answer=$(api_fetch "$@") || status=$?
    [[ -n $answer ]] && pretty "$answer"
    if [[ $status -ne 0 ]]; then
        die "$1 $API_URL$2 failed (curl exit $status)"
    fi
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
