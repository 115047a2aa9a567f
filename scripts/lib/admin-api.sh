# shellcheck shell=bash
# Shared helpers for the admin scripts (cache-*, redis-info, login): the API base URL, the
# bearer token, a curl wrapper that pretty-prints JSON answers and the check the Redis-only
# scripts make first. Sourced, not run.

API_URL="${API_URL:-http://127.0.0.1:8080}"
API_URL="${API_URL%/}"

die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

warn() {
    printf '%s: warning: %s\n' "${0##*/}" "$*" >&2
}

require_admin_token() {
    if [[ -z ${ADMIN_TOKEN:-} ]]; then
        die "ADMIN_TOKEN is not set; get one with: export ADMIN_TOKEN=\$(scripts/login EMAIL PASSWORD [CODE])"
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

# api_count METHOD PATH JSON_BODY FIELD: one admin call; prints the whole number in the
# answer's FIELD (e.g. cached_count), or dies printing the answer.
api_count() {
    local method=$1 path=$2 body=$3 field=$4 answer status=0
    require_admin_token
    answer=$(api_fetch "$method" "$path" "$body") || status=$?
    if [[ $status -ne 0 ]]; then
        [[ -n $answer ]] && pretty "$answer" >&2
        die "$method $API_URL$path failed (curl exit $status)"
    fi
    if [[ $answer =~ \"$field\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    else
        pretty "$answer" >&2
        die "no $field in the answer of $method $API_URL$path"
    fi
}

# plural N ONE MANY: "1 file URL", "2 file URLs", "0 file URLs".
plural() {
    if [[ $1 == 1 ]]; then
        printf '%s %s\n' "$1" "$2"
    else
        printf '%s %s\n' "$1" "$3"
    fi
}

# ask_cache_backend: asks the running API which cache it uses (GET /api/admin/cache/stats).
# Sets CACHE_BACKEND (redis or in_process) and succeeds; or sets CACHE_BACKEND_UNKNOWN to why
# it could not ask, and fails.
ask_cache_backend() {
    CACHE_BACKEND=""
    CACHE_BACKEND_UNKNOWN=""
    if [[ -z ${ADMIN_TOKEN:-} ]]; then
        CACHE_BACKEND_UNKNOWN="ADMIN_TOKEN is not set"
        return 1
    fi
    local answer code
    answer=$(curl -sS --connect-timeout 3 -m 10 -w '\n%{http_code}' \
        -H "Authorization: Bearer $ADMIN_TOKEN" -H "Accept: application/json" \
        "$API_URL/api/admin/cache/stats" 2>/dev/null) || true
    code=${answer##*$'\n'}
    answer=${answer%$'\n'*}
    case $code in
        200) ;;
        000 | "") CACHE_BACKEND_UNKNOWN="nothing answered at $API_URL" ;;
        401) CACHE_BACKEND_UNKNOWN="$API_URL refused ADMIN_TOKEN with 401, expired or logged out" ;;
        403) CACHE_BACKEND_UNKNOWN="ADMIN_TOKEN may not read the cache stats: 403, it needs cache:admin" ;;
        *) CACHE_BACKEND_UNKNOWN="GET $API_URL/api/admin/cache/stats answered $code" ;;
    esac
    [[ -z $CACHE_BACKEND_UNKNOWN ]] || return 1
    if [[ $answer =~ \"backend\"[[:space:]]*:[[:space:]]*\"([a-z_]+)\" ]]; then
        CACHE_BACKEND=${BASH_REMATCH[1]}
        return 0
    fi
    CACHE_BACKEND_UNKNOWN="no stats.backend in the answer of $API_URL"
    return 1
}

# redacted URL: the URL without its password, for messages.
redacted() {
    if [[ $1 =~ ^([A-Za-z][A-Za-z0-9+.-]*://)[^@/]*@(.*)$ ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}…@${BASH_REMATCH[2]}"
    else
        printf '%s\n' "$1"
    fi
}

# redis_only WHAT: run by the Redis-only scripts (cache-keys, redis-info) before they query
# REDIS_URL. Refuses when the running server uses its in-process cache; when the server cannot
# be asked, warns that this is for Redis only and carries on.
redis_only() {
    local what=$1
    if ask_cache_backend; then
        case $CACHE_BACKEND in
            redis) ;;
            in_process)
                die "the server at $API_URL uses its in-process cache; there is no Redis to $what (make cache-status shows its stats)"
                ;;
            *) warn "the server at $API_URL reports an unknown cache backend \"$CACHE_BACKEND\"; querying $(redacted "$REDIS_URL") anyway" ;;
        esac
    else
        warn "could not ask which cache the server uses ($CACHE_BACKEND_UNKNOWN); this is for Redis only: querying $(redacted "$REDIS_URL")"
    fi
}

# redis_cli ARGS…: runs REDIS_CLI (default redis-cli; may be a command with words, e.g.
# "docker compose exec -T redis redis-cli") against REDIS_URL.
redis_cli() {
    local cli
    read -r -a cli <<<"${REDIS_CLI:-redis-cli}"
    [[ ${#cli[@]} -gt 0 ]] || die "REDIS_CLI is empty"
    command -v "${cli[0]}" >/dev/null 2>&1 || die "${cli[0]} is not installed (REDIS_CLI=${REDIS_CLI:-redis-cli})"
    "${cli[@]}" -u "$REDIS_URL" "$@"
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
