from pathlib import Path

import pytest

# The shared benchmark files live beside the project, never inside it (see ../shared/data/README.md).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA} (only present on the dev machine)")
    return SHARED_DATA
