# The two commands (see README):
#   make run    set up everything and run the whole assistant
#   make test   set up everything and run the whole test suite
.PHONY: run test setup
run:
	@bash scripts/setup.sh && .venv/bin/mutuals run
test:
	@bash scripts/setup.sh --test && .venv/bin/python -m pytest $(PYTEST_ARGS)
setup:
	@bash scripts/setup.sh
