# The two commands of the README. Both install what they need into .venv first.
.PHONY: demo test test-fast setup

demo:  ## evaluate the embedded default model on the built-in suite, diagnose and list its mistakes
	scripts/setup.sh
	.venv/bin/lessons eval --model qwen2.5-coder-0.5b --suite arith --limit 50 --run demo-qwen-arith-50
	.venv/bin/lessons diagnose demo-qwen-arith-50
	.venv/bin/lessons mistakes demo-qwen-arith-50 --limit 15

test:  ## every test, the slow ones (real models, a real server) included
	scripts/setup.sh test
	.venv/bin/python -m pytest -q || [ $$? -eq 5 ]  # 5: no tests collected

test-fast:  ## unit tests only
	scripts/setup.sh test
	.venv/bin/python -m pytest -q -m "not slow" || [ $$? -eq 5 ]
