# The two commands of the README. Both install what they need into .venv first.
.PHONY: demo test test-fast setup

demo:  ## the whole loop on the embedded default model: learn from its mistakes, judge against a control, write the report
	scripts/setup.sh
	.venv/bin/lessons loop --config loop.yaml

test:  ## every test, the slow ones (real models, a real server) included
	scripts/setup.sh test
	.venv/bin/python -m pytest -q || [ $$? -eq 5 ]  # 5: no tests collected

test-fast:  ## unit tests only
	scripts/setup.sh test
	.venv/bin/python -m pytest -q -m "not slow" || [ $$? -eq 5 ]
