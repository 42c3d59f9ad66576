import os
import sys
from pathlib import Path

# tests/builders.py is shared by the test packages
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("JUNHENG_CACHE_DIR", str(Path(__file__).parent.parent / ".pytest_cache" / "junheng"))
