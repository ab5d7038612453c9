# The two commands: `make demo` runs the platform on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)
	@bash tests/setup/node.sh

demo: $(STAMP)
	@bash tests/setup/node.sh
	$(BIN)/lianluo demo

test: $(STAMP)
	$(BIN)/ruff check backend cti ivr agent_ui bench tests
	@bash tests/setup/debian.sh
	@bash tests/setup/node.sh
	@required=$$(bash tests/setup/services.sh); \
	echo "test backends: sqlite + in-process bus$${required:+, and required: $$required}; browser: chromium"; \
	required=$${required:+$$required,}chromium; \
	LIANLUO_TEST_REQUIRE=$$required $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache agent_ui/node_modules
