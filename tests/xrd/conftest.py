"""XRD tests keep the on-disk stick cache in a temporary folder, never the user's cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _stick_cache_in_tmp(tmp_path_factory):
    old = os.environ.get("CHARACT_CACHE_DIR")
    os.environ["CHARACT_CACHE_DIR"] = str(tmp_path_factory.mktemp("charact-cache"))
    yield
    if old is None:
        os.environ.pop("CHARACT_CACHE_DIR", None)
    else:
        os.environ["CHARACT_CACHE_DIR"] = old
