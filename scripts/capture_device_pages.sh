#!/usr/bin/env bash
# Refresh the screenshots of the device pages shown in docs/user-guide/connecting.md.
# The browser test takes them (headless Debian chromium through Playwright) while it
# checks the pages; KEYBROKER_SCREENSHOT_DIR tells it where to write them.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
KEYBROKER_SCREENSHOT_DIR="$PWD/docs/user-guide/img" python3 -m uv run pytest -q \
    "tests/server/test_device_browser.py::test_the_pages_escape_what_the_device_says_and_keep_their_focus_order"
ls -l docs/user-guide/img/device-*.png
