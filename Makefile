# The project's command runner. A newcomer needs two targets:
#   make run    bring up the platform on the embedded defaults and run the demo
#   make test   run the whole test suite
# Both install what they need first (tools/bootstrap.sh), and do nothing more when it is there.
SHELL := /bin/bash
ENV := source tools/env.sh &&

.PHONY: setup run test lint bench clean

setup:
	@bash tools/bootstrap.sh

# make run PILOT=1: also the pilot city ([SIMULASI] UMKM) and the command centre's pages (msc up --pilot).
run: setup
	@$(ENV) msc up $(if $(PILOT),--pilot) $(ARGS)

test: setup
	@bash tools/test.sh $(ARGS)

lint: setup
	@$(ENV) ruff check . && ruff format --check . && mypy common chain launcher indexer market audit carbon settlement pi_peer api checkout webui custody accounts merchant_money merchant_reports merchant_refunds portal city

bench: setup
	@bash tools/services.sh && $(ENV) python bench/gas.py && python bench/market.py && python bench/anomaly.py && python bench/indexer.py && python bench/settlement.py

clean:
	rm -rf build .venv node_modules .solcx reports deployments/development.json
