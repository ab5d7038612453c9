"""Browser tests: the console in headless Chromium (see conftest.py)."""
