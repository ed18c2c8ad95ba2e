"""Fixtures for the decode unit tests: the project's real schemas/ folder."""

from __future__ import annotations

import pytest

from omniout.decode import KnownSchema, SchemaStore

from .samples import ACCOUNT, ORDER, SCHEMAS


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.load(SCHEMAS)


@pytest.fixture(scope="session")
def order(store: SchemaStore) -> KnownSchema:
    schema = store.by_name(ORDER)
    assert schema is not None
    return schema


@pytest.fixture(scope="session")
def account(store: SchemaStore) -> KnownSchema:
    schema = store.by_name(ACCOUNT)
    assert schema is not None
    return schema
