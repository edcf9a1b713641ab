# The two commands (see README):
#   make run    set up everything and run the whole assistant
#   make test   set up everything and run the whole test suite
# and   make audit  check requirements.lock for known vulnerabilities (needs PyPI; not a test)
#       make check  ruff, mypy, import-linter, ESLint and the fast tests, in the environment `make test` set up (no installs)
.PHONY: run test setup audit check
run:
	@bash scripts/setup.sh && .venv/bin/mutuals run
test:
	@bash scripts/setup.sh --test && .venv/bin/python -m pytest $(PYTEST_ARGS)
setup:
	@bash scripts/setup.sh
audit:
	@test -x .venv/bin/python || bash scripts/setup.sh; .venv/bin/python scripts/audit.py
check:
	@test -x .venv/bin/ruff -a -x .venv/bin/lint-imports -a -f node_modules/eslint/bin/eslint.js || { echo "make check uses the test environment: run make test once first"; exit 2; }
	@# both cores; bytecode kept (gitignored __pycache__) even where PYTHONDONTWRITEBYTECODE is set, or each
	@# worker compiles and assertion-rewrites every test module again on every run (about 7 s of CPU each)
	@env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m pytest -m "not slow" -q -p no:cacheprovider -n 2 --dist loadscope $(PYTEST_ARGS)  # ruff, mypy, import-linter, ESLint: tests/test_code_checks.py
