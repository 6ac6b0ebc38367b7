# AIGC Atlas: two commands for a newcomer, `make serve` and `make test`.
# Every target sets up what it needs in .venv first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ATLAS  := $(VENV)/bin/atlas
MKDOCS := $(VENV)/bin/mkdocs
# A CPU build of PyTorch; users with GPUs install their own (pyproject keeps the range open).
TORCH_PIN ?= torch==2.13.0

.PHONY: serve build validate linkcheck test test-fast lint browser bench-site bench-linkcheck \
        bench-refresh bench-serve bench-examples bench-examples-gpu bench-gpt clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Site stack only: no torch.
$(VENV)/.site: pyproject.toml | $(VENV)/bin/activate
	$(PY) -m pip install -q -e '.[site]'
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.site
	$(PY) -m pip install -q '$(TORCH_PIN)'
	$(PY) -m pip install -q -e '.[site,examples,test]'
	touch $@

validate: $(VENV)/.site
	$(ATLAS) validate catalog

# Incremental rebuilds (--dirty, made exact by our hooks: see tools/atlas/incremental.py);
# a catalog with problems keeps the server running and every page lists them.
serve: $(VENV)/.site
	$(MKDOCS) serve -a 127.0.0.1:8000 --livereload --dirty

build: validate
	$(MKDOCS) build --strict

# Every catalog URL (over the network) and every internal link and anchor of the built site.
linkcheck: build
	$(ATLAS) linkcheck

# Debian's Chromium and a CJK font for the browser tests (Playwright cannot download a
# browser here). This is the one step that installs outside the project: it says so first,
# and as a non-root user it only prints the command to run.
browser:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "make browser: installing Debian's chromium and fonts-noto-cjk system-wide (apt-get), for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null); \
	else echo "make browser: the browser tests need /usr/bin/chromium; run: sudo apt-get install chromium fonts-noto-cjk (they are skipped until then)"; fi

# One pytest-xdist worker a core; a test module stays on one worker (--dist loadscope), so
# that a module's shared fixture (an example's default run) runs once. Units go out in the
# order conftest.py's run_order() sets (--no-loadscope-reorder): example runs first, tests
# of the site last. The site is built once for all workers (conftest.py: shared_site).
test: lint browser
	$(PY) -m pytest -n auto --dist loadscope --no-loadscope-reorder --durations=25

# The edit-test loop: everything except example training to its bar and the browser.
test-fast: $(VENV)/.test
	$(PY) -m pytest -n auto --dist loadscope --no-loadscope-reorder -m "not slow and not browser"

# ruff and mypy, at the versions pyproject.toml pins (pre-commit runs the same ruff).
lint: $(VENV)/.test
	$(VENV)/bin/ruff check tools tests examples bench
	$(VENV)/bin/mypy

bench-site: $(VENV)/.site
	$(PY) bench/site_bench.py

# From saving a file under `make serve` to the changed page being served.
bench-serve: $(VENV)/.site
	$(PY) bench/serve_bench.py

# The explorer in headless Chromium: the site stack and Playwright, no torch.
.PHONY: bench-explorer
bench-explorer: $(VENV)/.site browser
	$(PY) -m pip install -q -e '.[site,test]'
	$(PY) bench/explorer_bench.py

bench-linkcheck: $(VENV)/.test
	$(PY) bench/linkcheck_bench.py

# atlas refresh of 1,000 repositories against the loopback fake of GitHub's API.
bench-refresh: $(VENV)/.test
	$(PY) bench/refresh_bench.py

bench-examples: $(VENV)/.test
	$(PY) bench/examples_bench.py $(if $(NANOGPT_DIR),--nanogpt "$(NANOGPT_DIR)")

# Our GPT on Tiny Shakespeare; with NANOGPT_DIR=<a nanoGPT checkout>, nanoGPT's README CPU
# configuration on the same data in the same run, side by side (nanoGPT is not vendored).
bench-gpt: $(VENV)/.test
	$(PY) bench/examples_bench.py --only gpt $(if $(NANOGPT_DIR),--nanogpt "$(NANOGPT_DIR)")

bench-examples-gpu: $(VENV)/.test
	$(PY) bench/examples_bench.py --device cuda --compile

clean:
	rm -rf site .pytest_cache runs
