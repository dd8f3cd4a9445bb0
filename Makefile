# anycastlab: make targets. Everything that builds a lab needs root (sudo).
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/anycastlab
TOPO   ?= world
NAME   ?= baseline
DEMO   ?= tiny
PYTEST ?= -q

.PHONY: help setup test test-unit test-stress check render up hold scenario scenarios demo clean bench

help:
	@echo "sudo make scenario [NAME=baseline]  run scenarios/NAME.yaml: lab, probes, report in results/"
	@echo "sudo make scenarios        run every scenario; index page in results/scenarios/index.html"
	@echo "make setup                 install Debian packages, .venv and Python deps (idempotent)"
	@echo "sudo make demo [DEMO=tiny] a narrated lesson on a live lab (Enter between steps)"
	@echo "sudo make up [TOPO=world]  build a topology, converge, print a summary, tear down"
	@echo "sudo make hold [TOPO=...]  same, but stay up until Ctrl-C ('anycastlab exec' from another shell)"
	@echo "sudo make test             all tests (lab tests need root)"
	@echo "make test-unit             tests that need no root"
	@echo "sudo make test-stress      the lab tests beside two busy processes at normal priority"
	@echo "make check [TOPO=...]      validate a topology and print its link latencies"
	@echo "make render [TOPO=...]     render every BIRD config into build/<topo>/"
	@echo "sudo make bench            benchmarks; JSON into bench/results/"
	@echo "sudo make clean            remove what a killed or crashed run left behind"

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST)

test-unit: setup
	$(PY) -m pytest $(PYTEST) -m "not lab"

# a user's machine is rarely idle: the lab tier beside BUSY CPU-bound processes
BUSY ?= 2
test-stress: setup
	$(PY) scripts/stress.py --busy $(BUSY) -- $(PYTEST) -m lab

check: setup
	$(CLI) check $(TOPO)

render: setup
	$(CLI) render $(TOPO) --out build/$(TOPO)

up: setup
	$(CLI) up $(TOPO)

hold: setup
	$(CLI) up $(TOPO) --hold

scenario: setup
	$(CLI) scenario $(NAME)

demo: setup
	$(CLI) demo $(DEMO)

# every shipped scenario, baseline first, then an index page linking the reports
SCENARIOS := baseline $(filter-out baseline,$(sort $(basename $(notdir $(wildcard scenarios/*.yaml)))))
scenarios: setup
	@set -e; for n in $(SCENARIOS); do \
	  $(CLI) scenario $$n --out results/scenarios/$$n; \
	done; $(CLI) index results/scenarios

bench: setup
	$(PY) bench/run.py

clean:
	@if [ -x $(CLI) ]; then $(CLI) clean; fi
