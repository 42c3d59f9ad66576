import sys
from pathlib import Path

# tests/reports/reports_helpers.py is shared by the report tests
sys.path.insert(0, str(Path(__file__).parent))
