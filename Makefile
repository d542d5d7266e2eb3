# The two fresh-machine commands (README): `make demo` and `make test`.
.PHONY: demo test lint bench

demo:
	@scripts/bootstrap.sh demo
	.venv/bin/warmer demo

test:
	@scripts/bootstrap.sh dev
	.venv/bin/ruff check warmer tests scripts
	.venv/bin/mypy
	.venv/bin/pytest -q

lint:
	.venv/bin/ruff check warmer tests scripts
	.venv/bin/ruff format --check warmer tests scripts
	.venv/bin/mypy
