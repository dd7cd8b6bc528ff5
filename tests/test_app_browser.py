"""End to end: ``careos-sim app`` serves the app, and a real browser (headless Chromium) in a
1366 x 768 window, a classroom projector's, runs a tiny comparison in it and sees the headline
numbers and the scorecard, then opens a demonstration: prepared the first time, at once the
second.

Skipped, with the reason, when Chromium, ChromeDriver, Streamlit or Selenium is missing, unless
``CAREOS_REQUIRE_BROWSER=1`` (as in CI), when it fails instead. Saves screenshots in the test's
temporary folder and, where ``$CAREOS_SCREENSHOT_DIR`` is set, there as well.
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
CHROMIUM = os.environ.get("CAREOS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CAREOS_CHROMEDRIVER", "/usr/bin/chromedriver")
#: the window the page must read well in: a classroom's 1366 x 768 screen
WINDOW = (1366, 768)


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
    return [sys.executable, "-c", "import sys; from careos_sim.cli.main import main; sys.exit(main())"]


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
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "CAREOS_APP_DEMO_CACHE": str(tmp_path / "demo-cache"),  # never the user's cache
           "CAREOS_APP_PREPARE_DEMOS": "0"}  # only the demonstration the test opens
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
                "--disable-sync", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
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


def _screenshot(driver, folder: Path, name: str, top: bool = True) -> Path:
    """A screenshot of the window (scrolled to the top, unless not ``top``) into ``folder`` and, where
    ``$CAREOS_SCREENSHOT_DIR`` is set, there too."""
    if top:
        driver.execute_script("document.querySelectorAll('[data-testid=\"stMain\"], "
                              "[data-testid=\"stAppViewContainer\"]').forEach(e => e.scrollTo(0, 0)); "
                              "window.scrollTo(0, 0);")
    time.sleep(1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
    extra = os.environ.get("CAREOS_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        (Path(extra) / name).write_bytes(path.read_bytes())
    return path


#: every big number, scorecard cell and heading that does not show all of its text (cut, or "...")
_CUT = """
const cut = [];
for (const e of document.querySelectorAll(
        '[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *, [data-testid="stMetricDelta"] *, '
        + '[data-testid="stTable"] td, [data-testid="stTable"] th, h1, h2, h3')) {
    if (e.scrollWidth > e.clientWidth + 1) cut.push(e.innerText);
}
const main = document.querySelector('[data-testid="stMain"]').getBoundingClientRect();
for (const t of document.querySelectorAll(
        '[data-testid="stTable"], [data-testid="stMetric"], [data-testid="stImage"] img')) {
    if (t.getBoundingClientRect().right > main.right + 1) cut.push('wider than the page: ' + t.innerText.slice(0, 40));
}
return cut;
"""


def _headline(driver) -> list[dict]:
    """The big numbers: label, value, delta, and where they are in the window."""
    return driver.execute_script("""
        return [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => ({
            label: m.querySelector('[data-testid="stMetricLabel"]').innerText,
            value: m.querySelector('[data-testid="stMetricValue"]').innerText,
            delta: (m.querySelector('[data-testid="stMetricDelta"]') || {innerText: ''}).innerText,
            top: m.getBoundingClientRect().top, bottom: m.getBoundingClientRect().bottom,
            height: window.innerHeight}));""")


def test_app_runs_a_comparison_and_opens_a_demonstration_in_a_real_browser(app_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = app_server
    shots = tmp_path / "screenshots"
    first_line = log.read_text(errors="replace").splitlines()[0]
    assert first_line == f"careos-sim app: {url}"

    browser.get(url)
    wait = WebDriverWait(browser, 60)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, 'input[aria-label="Horizon (days)"]')))
    assert "Telling or listening" in browser.find_element(By.TAG_NAME, "h1").text
    # a dial carries its unit in the label; beds and the LEP share are settings of each side
    assert browser.find_elements(By.XPATH, "//*[contains(text(), 'Valuing people (dial, 0 to 1)')]")
    assert len(browser.find_elements(By.CSS_SELECTOR, 'input[aria-label="Beds"]')) == 2
    assert len(browser.find_elements(
        By.CSS_SELECTOR, 'input[aria-label="Admissions with limited English proficiency (fraction)"]')) == 2

    _set_number(browser, "Horizon (days)", 21)
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "replications of 21 days"))
    _set_number(browser, "Replications", 2)
    # both sides run each replication: 2 paired replications, not 4
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "2 paired replications of 21 days"))

    run = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//p[text()='Run comparison']]")))
    run.click()
    WebDriverWait(browser, 180).until(
        ec.presence_of_element_located((By.XPATH, "//h3[contains(., 'Scorecard')]")))
    WebDriverWait(browser, 60).until(
        lambda d: any(img.get_attribute("naturalWidth") not in (None, "0")
                      for img in d.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')))

    # the headline first: under the results' heading, four big numbers, whole, in the window
    results = browser.find_element(By.XPATH, "//h2[contains(., 'Results')]")
    browser.execute_script("arguments[0].scrollIntoView()", results)
    time.sleep(1)
    numbers = _headline(browser)
    assert [n["label"] for n in numbers] == ["Harm per 1,000 pt-days", "Missed care", "Nurses burned out",
                                             "Cost per pt-day, USD"]
    assert all(n["value"] and "vs A's" in n["delta"] for n in numbers)
    assert all(0 <= n["top"] and n["bottom"] <= n["height"] for n in numbers), numbers
    _screenshot(browser, shots, "app-compare-headline.png", top=False)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "2 paired replications of 21 days on common random numbers" in body
    # the brief is there, folded
    brief = browser.find_element(By.XPATH, "//details[.//summary[contains(., 'In plain language')]]")
    assert brief.get_attribute("open") is None
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stTable"]'), "no scorecard table"
    assert "(adjusted)" not in body and "((" not in body
    assert not browser.execute_script(_CUT), "text cut off at 1366 x 768"
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), "the page shows an exception"
    _screenshot(browser, shots, "app-compare.png")

    # teaching mode: a demonstration is prepared once, its headline numbers first and whole in the window
    browser.find_element(By.XPATH, "//label[.//p[text()='Teaching mode']]").click()
    wait.until(ec.presence_of_element_located((By.XPATH, "//h1[contains(., 'Teaching mode')]")))
    for title in ("1. Telling versus listening", "2. The capability trap", "3. Interpreter access and equity"):
        wait.until(ec.presence_of_element_located((By.XPATH, f"//p[starts-with(text(), '{title}')]")))
    WebDriverWait(browser, 600).until(
        ec.presence_of_element_located((By.XPATH, "//h3[contains(., 'What happened')]")))
    WebDriverWait(browser, 60).until(
        lambda d: any(img.get_attribute("naturalWidth") not in (None, "0")
                      for img in d.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')))
    _screenshot(browser, shots, "app-teaching.png")
    numbers = _headline(browser)
    assert [n["label"] for n in numbers] == ["Harm per 1,000 pt-days", "Missed care", "Nurses burned out",
                                             "Time on workarounds"]
    assert all(0 <= n["top"] and n["bottom"] <= n["height"] for n in numbers), numbers  # above the fold
    explained = browser.find_element(By.XPATH, "//details[.//summary[contains(., 'The demonstration explained')]]")
    assert explained.get_attribute("open") is None  # the long text folded
    assert not browser.execute_script(_CUT), "text cut off at 1366 x 768"
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), "the page shows an exception"

    # opened again in a new session, it is read from the disk cache: on the page in under 3 s
    browser.get(url)
    mode = wait.until(ec.element_to_be_clickable((By.XPATH, "//label[.//p[text()='Teaching mode']]")))
    started = time.monotonic()
    mode.click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="stMetric"]')))
    seconds = time.monotonic() - started
    assert seconds < 3, f"the prepared demonstration took {seconds:.1f} s to open"
    assert (tmp_path / "demo-cache").is_dir() and any((tmp_path / "demo-cache").iterdir())
