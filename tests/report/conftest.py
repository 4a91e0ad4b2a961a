"""Fixtures over tests/report/sample.py."""

import pytest
from report.sample import hostile_report, sample_report, single_run_report


@pytest.fixture
def sample() -> dict:
    return sample_report()


@pytest.fixture
def single_run() -> dict:
    return single_run_report()


@pytest.fixture
def hostile() -> dict:
    return hostile_report()
