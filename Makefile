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
        bench-examples bench-examples-gpu clean

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

serve: validate
	$(MKDOCS) serve -a 127.0.0.1:8000 --livereload

build: validate
	$(MKDOCS) build --strict

# Every catalog URL (over the network) and every internal link and anchor of the built site.
linkcheck: build
	$(ATLAS) linkcheck

# Debian's Chromium and a CJK font for the browser tests (Playwright cannot download a browser here).
browser:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null); \
	else echo "browser tests need /usr/bin/chromium: sudo apt-get install chromium fonts-noto-cjk"; fi

test: $(VENV)/.test browser
	$(VENV)/bin/ruff check tools tests examples bench
	$(PY) -m pytest

# The edit-test loop: everything except example training to its bar and the browser.
test-fast: $(VENV)/.test
	$(PY) -m pytest -m "not slow and not browser"

lint: $(VENV)/.test
	$(VENV)/bin/ruff check tools tests examples bench

bench-site: $(VENV)/.site
	$(PY) bench/site_bench.py

# The explorer in headless Chromium: the site stack and Playwright, no torch.
.PHONY: bench-explorer
bench-explorer: $(VENV)/.site browser
	$(PY) -m pip install -q -e '.[site,test]'
	$(PY) bench/explorer_bench.py

bench-linkcheck: $(VENV)/.test
	$(PY) bench/linkcheck_bench.py

bench-examples: $(VENV)/.test
	$(PY) bench/examples_bench.py

bench-examples-gpu: $(VENV)/.test
	$(PY) bench/examples_bench.py --device cuda --compile

clean:
	rm -rf site .pytest_cache runs
