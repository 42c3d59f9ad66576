import sys
from pathlib import Path

# tests/monitor/monitor_helpers.py is shared by the monitoring tests
sys.path.insert(0, str(Path(__file__).parent))
