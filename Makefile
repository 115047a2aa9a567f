# Tessera: everyday commands. `make` (or `make help`) lists them.
# The cache targets talk to the running API and need ADMIN_TOKEN (an account with one-time
# codes: the current code as a third argument, or TESSERA_OTP_CODE):
#   export ADMIN_TOKEN=$(scripts/login admin@example.org 'password' [CODE])
# cache-keys and redis-info are for Redis only: they ask the API which cache the server uses,
# refuse when it is the in-process one, then query REDIS_URL (with a warning when the API
# cannot be asked).

API_URL ?= http://127.0.0.1:8080
REDIS_URL ?= redis://127.0.0.1:6379/0
CACHE_KEY_PREFIX ?=
# With docker compose (Redis not published): make cache-keys REDIS_CLI="docker compose exec -T redis redis-cli" REDIS_URL=redis://127.0.0.1:6379/0
REDIS_CLI ?= redis-cli
CARGO ?= cargo
COMPOSE ?= docker compose
export API_URL

.DEFAULT_GOAL := help

.PHONY: help run test lint fmt openapi ci services-up services-down \
	cache-status cache-clear cache-warmup cache-refresh cache-keys cache-monitor \
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

cache-status: ## cache statistics (entries, hits, misses, hit ratio, Redis memory)
	./scripts/cache-stats

cache-clear: ## clear cached file URLs (all, or FILE_ID=123)
	./scripts/cache-clear $(if $(FILE_ID),--file-id $(FILE_ID))

cache-warmup: ## pre-sign file URLs (newest files, FILE_TYPE=avatar or FILE_IDS=1,2,3)
	./scripts/cache-warm $(if $(FILE_TYPE),--file-type $(FILE_TYPE)) $(if $(FILE_IDS),--file-ids $(FILE_IDS))

cache-refresh: ## re-sign cached URLs that are about to expire
	./scripts/cache-refresh

cache-keys redis-info: export REDIS_URL := $(REDIS_URL)
cache-keys redis-info: export REDIS_CLI := $(REDIS_CLI)
cache-keys: export CACHE_KEY_PREFIX := $(CACHE_KEY_PREFIX)
cache-keys: ## list the file_url:* keys in Redis (SCAN; REDIS_URL); refuses when the server's cache is in-process
	./scripts/cache-keys

cache-monitor: ## one line of cache stats every INTERVAL seconds (default 5; COUNT to stop)
	./scripts/cache-monitor $(or $(INTERVAL),5) $(COUNT)

redis-info: ## Redis memory use (INFO memory; REDIS_URL); refuses when the server's cache is in-process
	./scripts/redis-info

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
