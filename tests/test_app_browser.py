"""End to end: ``careos-sim app`` serves the app, and a real browser (headless Chromium) runs a
tiny comparison in it and sees the scorecard.

Skipped, with the reason, when Chromium, ChromeDriver, Streamlit or Selenium is missing, unless
``CAREOS_REQUIRE_BROWSER=1`` (as in CI), when it fails instead. Leaves a screenshot in
``results/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "results" / "screenshots"
CHROMIUM = os.environ.get("CAREOS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CAREOS_CHROMEDRIVER", "/usr/bin/chromedriver")


def _missing() -> str | None:
    """Why the test cannot run here, or None."""
    for module in ("streamlit", "selenium"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    for what, path in (("Chromium", CHROMIUM), ("ChromeDriver", CHROMEDRIVER)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CAREOS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CAREOS_REQUIRE_BROWSER=1 but the browser test cannot run: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _careos_sim() -> list[str]:
    """The ``careos-sim`` command of this interpreter's environment (or the same through ``-c``)."""
    script = Path(sys.executable).with_name("careos-sim")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from careos_sim.cli import main; sys.exit(main())"]


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"careos-sim app exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"careos-sim app did not serve {url} within {timeout:g} s:\n{log.read_text(errors='replace')}")


@pytest.fixture
def app_server(tmp_path):
    """``careos-sim app --port P`` in its own process group; stopped (the group) at the end."""
    _require_browser()
    port = _free_port()
    log = tmp_path / "app.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([*_careos_sim(), "app", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env,
                                start_new_session=True)
    url = f"http://localhost:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def browser(tmp_path):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1500,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _set_number(driver, label: str, value: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{label}"]')
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.ENTER)


def test_app_runs_a_comparison_in_a_real_browser(app_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = app_server
    first_line = log.read_text(errors="replace").splitlines()[0]
    assert first_line == f"careos-sim app: {url}"

    browser.get(url)
    wait = WebDriverWait(browser, 60)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, 'input[aria-label="Horizon (days)"]')))
    assert "Telling or listening" in browser.find_element(By.TAG_NAME, "h1").text
    # a dial carries its unit in the label
    assert browser.find_elements(By.XPATH, "//*[contains(text(), 'Valuing people (dial, 0 to 1)')]")

    _set_number(browser, "Horizon (days)", 21)
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "replications of 21 days"))
    _set_number(browser, "Replications", 2)
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "4 replications of 21 days"))

    run = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//p[text()='Run comparison']]")))
    run.click()
    WebDriverWait(browser, 180).until(
        ec.presence_of_element_located((By.XPATH, "//h3[contains(., 'Scorecard')]")))
    WebDriverWait(browser, 60).until(
        lambda d: any(img.get_attribute("naturalWidth") not in (None, "0")
                      for img in d.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')))

    body = browser.find_element(By.TAG_NAME, "body").text
    assert "In plain language" in body
    assert "paired replications of 21 days" in body
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'), "no scorecard table"
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), "the page shows an exception"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight "
                                    "|| document.body.scrollHeight")
    browser.set_window_size(1500, min(max(int(height) + 200, 1000), 9000))
    browser.execute_script("document.querySelectorAll('[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')"
                           ".forEach(e => e.scrollTo(0, 0)); window.scrollTo(0, 0);")
    time.sleep(1)
    path = SCREENSHOTS / "app-compare.png"
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000

    # teaching mode: three prepared demonstrations, each with its explanation (not run here: too long for a test)
    browser.set_window_size(1500, 1400)
    browser.find_element(By.XPATH, "//label[.//p[text()='Teaching mode']]").click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Teaching mode')]")))
    for title in ("1. Telling versus listening", "2. The capability trap", "3. Interpreter access and equity"):
        wait.until(ec.presence_of_element_located((By.XPATH, f"//p[starts-with(text(), '{title}')]")))
    browser.find_element(By.XPATH, "//label[.//p[starts-with(text(), '3. Interpreter access')]]").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Interpreter-access defects touch only LEP"))
    assert browser.find_elements(By.XPATH, "//button[.//p[text()='Run this demonstration']]")
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), "the page shows an exception"
    time.sleep(1)
    assert browser.save_screenshot(str(SCREENSHOTS / "app-teaching.png"))
