# make book   create .venv (once), install, build the website into _build/html
# make test   the same set-up, then every test: unit, notebooks (nbval), book build, browser
# make serve  serve the built website on http://localhost:8000
# make bench  speed against scikit-learn
# make notebooks  re-execute every chapter in place (commit the outputs)
# make lab    open the chapters in JupyterLab (installed into .venv on first use)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
JB     := $(BIN)/jupyter-book
CHROMIUM := /usr/bin/chromium
# Tests and chapters fit small models, two at a time (pytest -n 2, n_jobs=2): one BLAS/OpenMP
# thread each is faster than four threads fighting over two cores, and every run sums in the
# same order.
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

.PHONY: all venv book lab notebooks test test-unit test-notebooks test-build test-site serve bench clean

all: book

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(ONE_THREAD) $(JB) build .
	@echo "The website is in _build/html/index.html (make serve to browse it)."

lab: $(STAMP)
	@test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install jupyterlab
	$(BIN)/jupyter-lab book/

notebooks: $(STAMP)
	$(ONE_THREAD) $(BIN)/python scripts/execute_notebooks.py book/*.ipynb

test: test-unit test-notebooks test-build test-site

test-unit: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest tests --ignore=tests/site -n 2

test-notebooks: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest book $(NBVAL) -n 2 --dist loadfile

test-build: $(STAMP)
	$(ONE_THREAD) $(JB) build . -W -n --keep-going

# The browser test reads the built site (test-build runs first in `make test`) and drives
# Debian's Chromium, installed here when missing (as root; otherwise it says how).
test-site: $(STAMP) $(CHROMIUM)
	@test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m pytest tests/site

$(CHROMIUM):
	bash scripts/install_chromium.sh

serve: $(STAMP)
	@test -f _build/html/index.html || $(MAKE) book
	@echo "Serving the book on http://localhost:$(PORT) (Ctrl-C stops it)."
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_em.py

clean:
	rm -rf _build
