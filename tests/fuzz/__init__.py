"""The tiler's own fuzz suite: seeded case generators, an in-process harness, a quick
pytest (test_fuzz.py) and a long mode (`python -m tests.fuzz --cases 10000 --jobs 2`).
See harness.py for the case format and the outcomes, generators.py for the generators."""
