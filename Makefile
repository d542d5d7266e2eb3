# The two fresh-machine commands (README): `make demo` and `make test`.
.PHONY: demo test lint docs image bench

demo:
	@scripts/bootstrap.sh demo
	.venv/bin/warmer demo

# The last line runs the import and parser tests again without the C extensions: what a
# machine without a C compiler runs.
test:
	@scripts/bootstrap.sh dev
	.venv/bin/ruff check warmer tests scripts
	.venv/bin/mypy
	.venv/bin/pytest -q
	WARMER_NO_NATIVE=1 .venv/bin/pytest -q tests/sample tests/observe/test_cache_status.py

lint:
	.venv/bin/ruff check warmer tests scripts
	.venv/bin/ruff format --check warmer tests scripts
	.venv/bin/mypy
	.venv/bin/hadolint Dockerfile examples/flagger/Dockerfile

# docs/configuration.md is rendered from warmer/config/schema.py, docs/troubleshooting.md from
# the diagnosis catalog and the error tree (a test fails when either is stale).
docs:
	.venv/bin/python scripts/gen_config_reference.py
	.venv/bin/python scripts/gen_troubleshooting.py

# The container image, built with podman offline (scripts/container.sh; as root).
image:
	scripts/container.sh build localhost/warmer:dev
