# sluice: every target explains itself in `make help`. Nothing is installed outside the repo except caches.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
export TF_CLI_CONFIG_FILE := $(CURDIR)/terraform/cli.tfrc
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PYTEST_ARGS ?=
FN ?=

.PHONY: help
help: ## Show this help: every target and what it does
	@awk 'BEGIN {FS = ":.*## "; printf "Usage: make <target>\n\n"} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2} /^## / {printf "\n%s\n", substr($$0, 4)}' $(MAKEFILE_LIST)

## Getting started
.PHONY: setup
setup: $(STAMP) ## Create .venv from pinned requirements and check terraform + the provider mirror
	@$(PY) -c "from sluicectl.terraform import check_toolchain as c; p = c(); [print('✗', x) for x in p]; raise SystemExit(1 if p else 0)"
	@echo "✓ .venv ready, terraform and the aws provider mirror found"

$(STAMP): requirements/dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

.PHONY: demo
demo: setup build ## Run pipeline 1 end to end on the local cloud: start it, apply Terraform, push 200 objects, print counts
	$(PY) -m sluicectl demo

.PHONY: demo-documents
demo-documents: setup build ## Run pipeline 4 (Step Functions document workflow): 20 PDF/text documents + bad ones, results and failures
	$(PY) -m sluicectl documents

.PHONY: test
test: setup ## Run every test: unit (moto, build, terraform) and end to end (local cloud + real terraform apply)
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## Building
.PHONY: build
build: setup ## Build deterministic function zips + layers (shared, ml) into dist/ (for the local cloud) with dist/manifest.json
	$(PY) scripts/build.py --target local

.PHONY: build-aws
build-aws: setup ## Build for AWS Lambda (manylinux wheels, python3.12, no boto3) into dist/aws/
	$(PY) scripts/build.py --target aws

## The local cloud
.PHONY: up
up: setup ## Start the embedded local cloud (moto + Lambda runtime + event delivery) in the background
	$(PY) -m localcloud up

.PHONY: down
down: ## Stop the local cloud (its state and the local Terraform state go with it)
	-$(PY) -m localcloud down

.PHONY: status
status: ## One look at the deployed local stack: queue depths, DLQs (red when not empty), function errors, EMF metrics (WATCH=1 refreshes)
	$(PY) -m sluicectl status $(if $(WATCH),--watch)

.PHONY: cloud-status
cloud-status: ## Show the local cloud's own view: functions, queues, DLQs and deliveries (python -m localcloud status)
	$(PY) -m localcloud status

.PHONY: dlq
dlq: ## List every DLQ of the local stack with depth, oldest message and source (then: sluicectl dlq inspect|redrive|purge)
	$(PY) -m sluicectl dlq list

.PHONY: logs
logs: ## Print a function's log: make logs FN=sluice-local-ingest-processor
	@test -n "$(FN)" || (echo "usage: make logs FN=<function name>"; exit 2)
	$(PY) -m localcloud logs $(FN)

.PHONY: deploy
deploy: build ## terraform init + apply of terraform/environments/local onto the running local cloud
	$(PY) -m sluicectl deploy

.PHONY: chaos
chaos: setup build ## Reliability suite: faults, a 10x burst, fuzzed input and DLQ redrive through every pipeline; fails if anything is lost or duplicated
	$(PY) -m sluicectl chaos $(CHAOS_ARGS)

.PHONY: model
model: setup ## Train the digits model (ONNX + model card) and publish + promote it in the local environment's model bucket
	$(PY) scripts/train_model.py --publish

.PHONY: fraud-model
fraud-model: setup ## Train the fraud model on the synthetic stream (ONNX + card) and publish + promote it in the local model bucket
	$(PY) scripts/train_fraud_model.py --publish

.PHONY: stream
stream: setup ## Pipeline 5: a synthetic transaction stream with labelled fraud at RATE/s (COUNT records), then recall/precision
	$(PY) -m sluicectl stream --rate $(or $(RATE),500) --count $(or $(COUNT),5000)

.PHONY: daily-report
daily-report: setup ## Fire the daily report on the local cloud (its schedule: yesterday) and print it; DATE=YYYY-MM-DD replays that day
	$(PY) -m sluicectl daily-report $(if $(DATE),--date $(DATE))

.PHONY: retrain
retrain: setup ## Request a retraining run on the local cloud now and print its decision (promoted / rejected)
	$(PY) -m sluicectl retrain

## Quality
.PHONY: test-unit
test-unit: setup ## Unit tests only (no server): handlers with moto, build, terraform fmt/validate/test
	$(PY) -m pytest tests/unit -n 2 $(PYTEST_ARGS)

.PHONY: test-e2e
test-e2e: setup ## End-to-end tests only: a fresh local cloud, real terraform apply, flows counted
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

.PHONY: e2e
e2e: test-e2e ## Alias of test-e2e (the design card's `make e2e`)

.PHONY: lint
lint: setup ## ruff on all Python, terraform fmt -check on all HCL
	$(PY) -m ruff check .
	terraform fmt -check -recursive terraform

CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum requirements/checkov.txt 2>/dev/null | cut -d' ' -f1)

$(CHECKOV_STAMP): requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

.PHONY: security
security: $(CHECKOV_STAMP) ## checkov on all Terraform (own venv in .tools/); fails on any finding not skipped with a reason
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download --quiet --compact

.PHONY: fmt
fmt: setup ## Format Python (ruff) and Terraform (terraform fmt)
	$(PY) -m ruff check --fix --quiet . || true
	terraform fmt -recursive terraform

.PHONY: bench
bench: setup build ## Run every benchmark (with its naive and in-process baselines): bench/results/*.json, docs/benchmarks.md + plots
	$(PY) -m bench

.PHONY: bench-report
bench-report: setup ## Regenerate docs/benchmarks.md and its plots from bench/results/*.json without running anything
	$(PY) -m bench report

## LocalStack (needs Docker)
.PHONY: localstack-up
localstack-up: ## docker compose up LocalStack (pinned 4.x community image) and wait for its health check
	docker compose up -d --wait localstack

.PHONY: localstack-deploy
localstack-deploy: build-aws ## Apply terraform/environments/localstack with tflocal
	cd terraform/environments/localstack && $(CURDIR)/$(VENV)/bin/tflocal init -input=false && $(CURDIR)/$(VENV)/bin/tflocal apply -input=false -auto-approve

.PHONY: localstack-down
localstack-down: ## docker compose down LocalStack
	docker compose down

## Housekeeping
.PHONY: lock
lock: ## Re-pin requirements/*.txt from requirements/*.in (pip-compile)
	$(PY) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links requirements/dev.in -o requirements/dev.txt
	$(PY) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links requirements/checkov.in -o requirements/checkov.txt

.PHONY: clean
clean: down ## Remove build output, local cloud state and caches (keeps .venv)
	rm -rf dist .localcloud .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
