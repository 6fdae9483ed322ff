"""Benchmarks run only when asked for (`make bench`, i.e. `-m bench`): a plain `pytest` skips
them, so a developer's full run does not spend minutes building 10,000 participants."""

import pytest


def pytest_collection_modifyitems(config, items):
    if "bench" in (config.option.markexpr or "") and "not bench" not in config.option.markexpr:
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "bench" in item.keywords:
            item.add_marker(skip)
