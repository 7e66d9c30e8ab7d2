# Two commands do all set-up on a fresh Debian machine; both install what is missing first.
.PHONY: run test setup

## Build the release build and serve the dashboard on http://127.0.0.1:3000 (SQLite in ./data).
run:
	scripts/run.sh

## Run every test: fmt, clippy (server and wasm32), SQLite and PostgreSQL tests, fuzz smoke, browser tests.
test:
	scripts/test.sh

## Install tools and packages only.
setup:
	scripts/setup.sh
