# The two commands (see README):
#   make run    set up everything and run the whole assistant
#   make test   set up everything and run the whole test suite
# and   make audit  check requirements.lock for known vulnerabilities (needs PyPI; not a test)
.PHONY: run test setup audit
run:
	@bash scripts/setup.sh && .venv/bin/mutuals run
test:
	@bash scripts/setup.sh --test && .venv/bin/python -m pytest $(PYTEST_ARGS)
setup:
	@bash scripts/setup.sh
audit:
	@test -x .venv/bin/python || bash scripts/setup.sh; .venv/bin/python scripts/audit.py
