import sys
from pathlib import Path

import pytest

# tests/data/dataset_files.py is shared by the data tests
sys.path.insert(0, str(Path(__file__).parent))

from dataset_files import Tables, valid_tables


@pytest.fixture
def tables() -> Tables:
    """A fresh valid dataset as rows; tests break one thing in it."""
    return valid_tables()
