# Two commands for a new machine: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   := build/demo

.PHONY: help demo demo-grades test test-fast lint release reference data bench screenshots clean clean-grades

help:
	@echo "make demo       set up .venv, build the releases, train the references, grade each"
	@echo "                assignment's solution and untouched release"
	@echo "make test       run the test suite (real kernels, real training; 4-9 min on 2 cores)"
	@echo "make test-fast  the tests that need no TensorFlow training (under a minute)"
	@echo "make release    regenerate assignments/ from solutions/ with nbgrader, every assignment"
	@echo "                (refused while a test has no check in its grading.py)"
	@echo "make reference  execute each solution that trains a model; write its reference model and metrics"
	@echo "make bench      compare our grader with plain nbgrader; profile one submission; 300 tiny ones"
	@echo "make lint       ruff, the import contracts (lint-imports) and declared imports (deptry)"
	@echo "make screenshots  redraw docs/*.png from a real grading run (after make demo; ~2-4 min)"
	@echo "make clean      remove build output and caches (never grades)"
	@echo "make clean-grades  DELETE this folder's gradebook.db, submitted/, autograded/, feedback/, graded_models/"

# The venv is rebuilt whenever the declared dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[grader,dev]"
	@touch $(STAMP)

venv: $(STAMP)

# Every assignment: each folder of solutions/ holding a notebook of its own name.
ASSIGNMENTS = $(patsubst solutions/%/,%,$(dir $(wildcard solutions/*/*.ipynb)))

release: $(STAMP)
	@# nbgrader refuses an assignment whose tests are not all checked by its grading.py: checked
	@# first, so that a refused release leaves the previous one in place.
	$(PY) -m autograder.grader.release_check $(ASSIGNMENTS)
	for id in $(ASSIGNMENTS); do \
	  $(VENV)/bin/nbgrader generate_assignment $$id --force --log-level=WARN || exit 1; \
	done

# One build per assignment, so that `make -j` (the demo's) runs them side by side.
reference: $(ASSIGNMENTS:%=reference-%)

reference-%: $(STAMP)
	$(PY) -m autograder.grader.reference $*

data: $(STAMP)
	$(PY) data/make_digits.py

screenshots: $(STAMP)
	$(PY) docs/screenshots.py

# The demo's release and references are rebuilt only when what they are made from changed
# (`make release` and `make reference` always rebuild).
SOURCES := $(wildcard solutions/*/*.ipynb solutions/*/grading.py) nbgrader_config.py
build/release.stamp: $(STAMP) $(SOURCES) autograder/assignment.py autograder/grader/release_check.py
	$(MAKE) --no-print-directory release
	@mkdir -p build && touch $@

build/reference.stamp: $(STAMP) $(SOURCES) $(wildcard utils/*) autograder/grader/reference.py \
		$(wildcard autograder/student/*.py)
	$(MAKE) --no-print-directory --output-sync=target reference
	@mkdir -p build && touch $@

# Each assignment's two students, its solution (handed in as a student would: hidden tests
# removed) and its untouched release, graded into one gradebook: a table per assignment, and
# build/demo/<id>/grades.json.
# The references are trained beside the release and the grading, which need none of them
# (two jobs; each job's output kept together).
demo: $(STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target build/reference.stamp demo-grades

demo-grades: build/release.stamp
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	for id in $(ASSIGNMENTS); do \
	  mkdir -p $(DEMO)/$$id/solution $(DEMO)/$$id/untouched_release && \
	  $(PY) -m autograder.grader.handed_in solutions/$$id/$$id.ipynb $(DEMO)/$$id/solution/$$id.ipynb && \
	  cp assignments/$$id/$$id.ipynb $(DEMO)/$$id/untouched_release/ && \
	  $(PY) -m autograder grade $(DEMO)/$$id --assignment $$id --db sqlite:///$(CURDIR)/$(DEMO)/gradebook.db --json $(DEMO)/$$id/grades.json --details || exit 1; \
	done

# Test processes at once: one more than the 2-core CI machine's cores. Two kept the cores
# 89 % busy (tests wait on kernels starting, browsers, servers, sockets); three, 93-95 %.
TEST_WORKERS ?= 3

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" -q -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@# Every import declared in the install its code runs in ([tool.deptry] in pyproject.toml).
	@# The grader's: base and grader dependencies; a dev-only import is reported (DEP004).
	$(VENV)/bin/deptry . --extend-exclude '(tests|bench|docs)/'
	@# The student's: the base dependencies alone (grader counted as dev, so DEP004 again).
	@# "Unused" is judged by the run above, over all the code that installs them.
	$(VENV)/bin/deptry autograder utils --extend-exclude 'autograder/(grader|model|public)/' \
		--optional-dependencies-dev-groups grader,dev --ignore DEP002
	@# The developer's: tests, benchmarks and docs may import every extra.
	$(VENV)/bin/deptry tests bench docs --ignore DEP002,DEP004

bench: $(STAMP)
	$(PY) bench/bench_grade.py
	$(PY) bench/profile_submission.py
	$(PY) bench/bench_scale.py

# Build output and caches only: grades are never in here.
clean:
	rm -rf build .pytest_cache .ruff_cache .import_linter_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Grades have their own, explicitly named target.
clean-grades:
	rm -rf gradebook.db gradebook.db-journal submitted autograded feedback graded_models
