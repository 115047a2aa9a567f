# Tessera: everyday commands. `make` (or `make help`) lists them.
# The cache targets and doctor run `tessera cache …` / `tessera doctor` (docs/runbook.md). They
# read the server's settings (environment and .env): with REDIS_URL they talk to Redis (and the
# database and object store) directly; without it the cache lives inside the running server, so
# they ask its admin API (API_URL) and need ADMIN_TOKEN (an account with one-time codes: the
# current code as a third argument, or TESSERA_OTP_CODE):
#   export ADMIN_TOKEN=$(scripts/login admin@example.org 'password' [CODE])
# JSON=1 prints the admin endpoints' JSON answers.

API_URL ?= http://127.0.0.1:8080
CARGO ?= cargo
# The tessera the ops targets run: this checkout, built on first use. Point it at a built
# binary to skip cargo: make cache-status TESSERA=target/release/tessera
TESSERA ?= $(CARGO) run --quiet --release --bin tessera --
# With docker compose (Redis not published): make redis-info REDIS_CLI="docker compose exec -T redis redis-cli"
REDIS_CLI ?= redis-cli
COMPOSE ?= docker compose
export API_URL

.DEFAULT_GOAL := help

.PHONY: help run test lint fmt openapi ci services-up services-down doctor \
	cache-status cache-stats cache-clear cache-warmup cache-refresh cache-keys cache-monitor \
	redis-info bench dev-up dev-down docker-logs docker-build docker-restart

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the API (release build; embedded defaults unless .env/env say otherwise)
	$(CARGO) run --release --bin tessera

test: ## run every test (starts PostgreSQL, Redis and s3s-fs when missing)
	./scripts/test

lint: ## check formatting and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

openapi: ## regenerate openapi/openapi.json from the code
	$(CARGO) run --bin tessera -- openapi

ci: ## run what CI runs
	.ci/run

services-up: ## start the test services (PostgreSQL, Redis, s3s-fs) and print their env
	./scripts/services up

services-down: ## stop the test services started by services-up
	./scripts/services down

doctor: ## check the database, Redis, the object store, the clocks and the settings (exit 1 on a FAIL)
	$(TESSERA) doctor

cache-status: ## cache statistics (entries, hits, misses, hit ratio, Redis memory)
	$(TESSERA) cache stats $(if $(JSON),--json)

cache-stats: cache-status ## the same as cache-status

cache-clear: ## clear cached file URLs (all, FILE_ID=123, or a NAMESPACE=members)
	$(TESSERA) cache clear $(if $(FILE_ID),--file-id $(FILE_ID)) $(if $(NAMESPACE),--namespace $(NAMESPACE)) $(if $(JSON),--json)

cache-warmup: ## pre-sign file URLs (newest 100, FILE_TYPE=avatar, FILE_IDS=1,2,3; DASHBOARDS=1 too)
	$(TESSERA) cache warm $(if $(FILE_TYPE),--file-type $(FILE_TYPE)) $(if $(FILE_IDS),--file-ids $(FILE_IDS)) $(if $(DASHBOARDS),--dashboards) $(if $(JSON),--json)

cache-refresh: ## re-sign cached URLs that are about to expire
	$(TESSERA) cache refresh $(if $(JSON),--json)

cache-keys: ## list cache keys and their TTL (Redis only; SCAN; PATTERN='file_url:*', LIMIT=1000)
	$(TESSERA) cache keys $(if $(PATTERN),--pattern '$(PATTERN)') $(if $(LIMIT),--limit $(LIMIT)) $(if $(JSON),--json)

cache-monitor: ## one line of cache figures every INTERVAL seconds (default 2) until Ctrl-C (or COUNT lines)
	$(TESSERA) cache monitor --interval $(or $(INTERVAL),2) $(if $(COUNT),--count $(COUNT))

redis-info: ## Redis memory use: redis-cli INFO memory on REDIS_URL (Redis only)
	@test -n "$$REDIS_URL" || { echo "redis-info: REDIS_URL is not set: there is no Redis; make cache-status shows the in-process cache" >&2; exit 2; }
	$(REDIS_CLI) -u "$$REDIS_URL" INFO memory

bench: ## load-test the running API
	./scripts/bench

dev-up: ## start the production-shaped stack (docker compose up -d)
	$(COMPOSE) up -d

dev-down: ## stop the docker compose stack
	$(COMPOSE) down

docker-logs: ## follow the docker compose logs
	$(COMPOSE) logs -f --tail=200

docker-build: ## rebuild the API image
	$(COMPOSE) build api

docker-restart: ## restart the docker compose services
	$(COMPOSE) restart
