# make book   create .venv (once), install, build the website into _build/html
#             (make book REPOSITORY_URL=https://github.com/owner/repo adds repository and
#             Binder/Colab buttons pointing there; see README.md)
# make test   the same set-up, then every check: lint, unit, notebooks (nbval, under two
#             OpenBLAS kernels), book build, browser
# make test-lib  the library alone (lint and the unit tests without the slow numerical
#             suites), in about a minute
# make lint   ruff (lint and format check) and mypy
# make test-kernels  the notebooks under every OpenBLAS kernel we promise (slower)
# make serve  serve the built website on http://localhost:8000
# make bench  speed against scikit-learn
# make notebooks  re-execute every chapter in place (commit the outputs)
# make lab    open the chapters in JupyterLab (its pinned version installed into .venv on
#             first use, within the versions of requirements.txt)
# make pdf    the whole book as one PDF (_build/latex/book.pdf; needs LaTeX, see README.md)

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
# The stored outputs must reproduce whatever CPU a reader has: BLAS kernels differ in their
# last bits. `default` is the kernel OpenBLAS picks for this machine (or OPENBLAS_CORETYPE if
# you set it); the others are forced. Sandybridge (no FMA) differs most from today's CPUs.
NOTEBOOK_KERNELS ?= default Sandybridge
ALL_KERNELS := default Haswell SkylakeX Sandybridge
# Where the book is published (one setting; empty: no repository/Binder/Colab buttons).
REPOSITORY_URL ?=
BOOK_CONFIG := _build/_config.yml
# JupyterLab for `make lab`, pinned; installed with requirements.txt as constraints so that it
# changes none of the versions the notebooks' outputs come from.
JUPYTERLAB_VERSION := 4.6.4
LAB_CONSTRAINTS := $(VENV)/lab-constraints.txt
# Jupyter refuses to run as root unless told to (a container, a CI machine).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: all venv book book-config lab pdf notebooks test test-lib test-unit test-notebooks test-kernels test-build test-site lint serve bench clean

all: book

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

book-config: $(STAMP)
	$(BIN)/python scripts/book_config.py $(BOOK_CONFIG) $(REPOSITORY_URL)

book: book-config
	$(ONE_THREAD) $(JB) build . --config $(BOOK_CONFIG)
	@echo "The website is in _build/html/index.html (make serve to browse it)."

lab: $(STAMP)
	@$(BIN)/python -c "import sys, jupyterlab; sys.exit(jupyterlab.__version__ != '$(JUPYTERLAB_VERSION)')" 2>/dev/null || { \
	  grep -v '^-e' requirements.txt | sed 's/\[[^]]*\]//' > $(LAB_CONSTRAINTS) && \
	  $(BIN)/python -m pip install jupyterlab==$(JUPYTERLAB_VERSION) -c $(LAB_CONSTRAINTS); }
	$(BIN)/jupyter-lab $(LAB_FLAGS) --KernelManager.transport_encryption=auto book/

# The book as a PDF through XeLaTeX (not part of `make test`; about 5 minutes here). Needs
# latexmk and a TeX Live with the packages Sphinx uses (Debian: latexmk texlive-latex-extra
# texlive-fonts-recommended texlive-xetex fonts-freefont-otf tex-gyre).
pdf: book-config
	rm -rf _build/latex
	$(ONE_THREAD) $(JB) build . --config $(BOOK_CONFIG) --builder pdflatex
	@echo "The PDF is _build/latex/book.pdf."

notebooks: $(STAMP)
	$(ONE_THREAD) $(BIN)/python scripts/execute_notebooks.py book/*.ipynb

test: lint test-unit test-notebooks test-build test-site

test-lib: lint
	$(ONE_THREAD) $(BIN)/python -m pytest tests --ignore=tests/site -n 2 -m "not slow" -q

test-unit: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest tests --ignore=tests/site -n 2

lint: $(STAMP)
	$(BIN)/ruff check gmmlib tests benchmarks scripts
	$(BIN)/ruff format --check gmmlib tests benchmarks scripts
	$(BIN)/mypy

test-notebooks: $(STAMP)
	@set -e; for kernel in $(NOTEBOOK_KERNELS); do \
	  echo "== stored notebook outputs, OpenBLAS kernel: $$kernel"; \
	  if [ "$$kernel" = default ]; then core="$${OPENBLAS_CORETYPE:-}"; else core=$$kernel; fi; \
	  OPENBLAS_CORETYPE=$$core $(ONE_THREAD) $(BIN)/python -m pytest book $(NBVAL) -n 2 --dist loadfile -q; \
	done

test-kernels: $(STAMP)
	$(MAKE) test-notebooks NOTEBOOK_KERNELS="$(ALL_KERNELS)"

test-build: book-config
	$(ONE_THREAD) $(JB) build . --config $(BOOK_CONFIG) -W -n --keep-going

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
