"""The package's public surface: what ``import omniout`` promises."""

from __future__ import annotations

import omniout
from omniout import errors


def test_every_public_name_resolves() -> None:
    assert all(hasattr(omniout, name) for name in omniout.__all__)


def test_the_whole_error_tree_is_exported() -> None:
    assert set(errors.__all__) <= set(omniout.__all__)
    exported = [getattr(omniout, name) for name in errors.__all__]
    assert all(issubclass(error, omniout.OmniOutError) for error in exported)
