"""Render a report in headless Chromium and save a full-page screenshot (for the README).

python scripts/report_screenshot.py REPORT.html OUT.png
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import render  # noqa: E402

if __name__ == "__main__":
    report, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    result = render(report, out, height=2300)
    if result["errors"]:
        sys.exit(f"JavaScript errors in {report}: {result['errors']}")
    print(f"{out}: {result['charts']} charts drawn, no JavaScript errors")  # noqa: T201
