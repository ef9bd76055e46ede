"""Shared parts of the browser tests: Debian's chromium driven headless by selenium.

Why one module: the centre's UI test and the gateway page test start the same browser the same
way and log in through the same webkit login form; a change to either (a chromium flag, the
form's ids) is made here once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                    reason="chromium/chromedriver missing: run scripts/setup.sh")


@contextmanager
def chrome(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless chromium (selenium WebDriver) of the given window size, quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    # --no-sandbox: the build machines run tests as root; /dev/shm is small in containers
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}",
                "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.implicitly_wait(0)  # every wait in these tests is an explicit WebDriverWait
    try:
        yield driver
    finally:
        driver.quit()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$EDGEPOST_SCREENSHOTS`` or the test's tmp dir."""
    shots = Path(os.environ.get("EDGEPOST_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def fill_login(browser: Any, wait: Any, name: str, password: str) -> None:
    """Type ``name`` and ``password`` into the webkit login form once it is shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait.until(ec.presence_of_element_located((By.ID, "login-name"))).send_keys(name)
    browser.find_element(By.ID, "login-password").send_keys(password)
