"""The test set-up must have installed every peer the suite relies on (checked for real in CI)."""

import pytest

from tests.conftest import PEERS, require_peer


@pytest.mark.parametrize("program", sorted(PEERS))
def test_peer_installed(program):
    assert require_peer(program)
