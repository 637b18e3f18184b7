"""The C part of the matching engine (watcher/rules/_engine.c); everything else is in
pyproject.toml. Optional: where it cannot be compiled, watcher installs without it and
matches with the Python engine (same results, slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("watcher.rules._engine", ["watcher/rules/_engine.c"], optional=True),
    ]
)
