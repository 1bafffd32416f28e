"""The console in a real browser: Debian's Chromium, headless, driven by Selenium through chromedriver, against
the console served by uvicorn on a loopback port. One walk through the morning:

- the officer (OFF-KATO) logs in, sees Chiyoda's gate blocked, follows the break code to the break, resolves it,
  sees the gate re-decided open on Today; approves Chiyoda's payment file as second officer by pasting a
  signature made "on their own machine" (payments.signing.approval_signature with the key in the test's key
  folder — the server never sees the key);
- the municipality (chiyoda) sees only its own municipality, no MyKey ID, downloads its own report, and gets
  "not found" for Sapporo's break by URL;
- the auditor sees the check results, the run log and the officer's actions in the console's audit log, verifies
  the hash-chained trail (OK), and gets no action forms.

Skipped when Chromium or chromedriver is absent, except in CI (CI=true), where it must run: scripts/
system-packages.sh installs `chromium chromium-driver` for the test purpose. With SEISAN_SCREENSHOTS=DIR the
walk also saves the screenshots docs/console.md shows (console-*.png).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from console_world import CHIYODA, MYKEY_ID, PASSWORD, PAY_DATE, SAPPORO, app_for, copy_world

from payments.files import manifest_name_for, read_manifest
from payments.officers import load_private_key, load_registry
from payments.signing import approval_signature

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT_SECONDS = 10


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def browser(tmp_path: Path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if _in_ci():
            pytest.fail("CI must run the browser tests: install chromium and chromium-driver "
                        "(scripts/system-packages.sh test)")
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--disable-gpu", "--window-size=1280,1000", "--lang=ja",
                     "--disable-dev-shm-usage", *(["--no-sandbox"] if os.geteuid() == 0 else [])):
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "plugins.always_open_pdf_externally": True})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(2)
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def served(template_world, tmp_path: Path):
    """The console on a free loopback port, in a thread of this process, on a copy of the world."""
    import uvicorn

    world = copy_world(template_world, tmp_path / "home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app_for(world.home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(WAIT_SECONDS)


def _shot(driver, name: str) -> None:
    folder = os.environ.get("SEISAN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"console-{name}.png"))


def _go(driver, element) -> None:
    """Click a link or a submit button and wait until the next page replaced this one and finished loading.

    The old page is marked on its window object, which a navigation replaces. Not `staleness_of` on the old
    page's element: polled while Chrome swaps the documents, it can fail with "Node with given id does not
    belong to the document" (an unknown error, not a stale element), which failed one CI run. Any WebDriver
    error while the swap is under way only means "not yet".
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.seisanOldPage = true;")
    element.click()
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return window.seisanOldPage === undefined && document.readyState === 'complete';"
        )
    )


def _login(driver, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login?lang=ja")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _go(driver, driver.find_element(By.ID, "login"))
    assert driver.find_element(By.ID, "who").text == name


def _logout(driver) -> None:
    from selenium.webdriver.common.by import By

    _go(driver, driver.find_element(By.ID, "logout"))
    assert driver.find_element(By.ID, "username")


def _absent(driver, by: str, value: str) -> bool:
    """No such element, without waiting the implicit wait out."""
    driver.implicitly_wait(0)
    try:
        return driver.find_elements(by, value) == []
    finally:
        driver.implicitly_wait(2)


def _gate_of(driver, code: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'.gate[data-code="{code}"]').text


def _officer_morning(driver, base: str, world) -> None:
    from selenium.webdriver.common.by import By

    _login(driver, base, "OFF-KATO")
    assert _gate_of(driver, CHIYODA) == "停止（支払不可）"
    _shot(driver, "today")
    _go(driver, driver.find_element(By.LINK_TEXT, "balance_drift"))
    _shot(driver, "breaks")
    _go(driver, driver.find_element(By.LINK_TEXT, world.chiyoda_break))
    assert MYKEY_ID in driver.page_source  # an officer sees the key, to work the break
    driver.find_element(By.ID, "resolve-note").send_keys("残高は送信元で訂正され再送された")
    _shot(driver, "break")
    _go(driver, driver.find_element(By.ID, "resolve"))
    assert "支払ゲートを再判定しました" in driver.find_element(By.ID, "done").text
    assert driver.find_element(By.ID, "status").text == "resolved"
    _go(driver, driver.find_element(By.LINK_TEXT, "本日"))
    assert _gate_of(driver, CHIYODA) == "開放（支払可）"
    assert _gate_of(driver, SAPPORO) == "停止（支払不可）"  # its partner file is still missing


def _approve(driver, base: str, world) -> None:
    from selenium.webdriver.common.by import By

    _go(driver, driver.find_element(By.LINK_TEXT, "支払ファイル"))
    _shot(driver, "payments")
    _go(driver, driver.find_element(By.LINK_TEXT, world.chiyoda_file))
    path = world.home / "out" / PAY_DATE.isoformat() / "payments" / world.chiyoda_file
    manifest = read_manifest(path.with_name(manifest_name_for(path.name)))
    assert driver.find_element(By.ID, "digest").text == manifest["file_sha256"]
    assert "seisan payments sign-approval" in driver.find_element(By.ID, "sign-command").text
    # "on the officer's own machine": their key signs the downloaded file; only the signature is pasted
    signature = approval_signature(manifest, path.read_bytes(), "OFF-KATO",
                                   load_private_key(world.key_dir, "OFF-KATO"),
                                   load_registry(world.home / "officers.toml"))
    driver.find_element(By.ID, "signature").send_keys(signature)
    _shot(driver, "payment")
    _go(driver, driver.find_element(By.ID, "approve"))
    assert driver.find_element(By.ID, "approved-by").text == "OFF-KATO"
    assert "両署名とも検証済" in driver.find_element(By.ID, "verification").text
    _logout(driver)


def _municipality(driver, base: str, world) -> None:
    from selenium.webdriver.common.by import By

    _login(driver, base, "chiyoda")
    assert SAPPORO not in driver.page_source and MYKEY_ID not in driver.page_source
    assert _absent(driver, By.LINK_TEXT, "支払ファイル")
    driver.get(f"{base}/breaks?status=all")
    assert MYKEY_ID not in driver.page_source and "[ID]" in driver.page_source
    _go(driver, driver.find_element(By.LINK_TEXT, "レポート"))
    _shot(driver, "reports")
    assert f"prepaid-2026-09-30-{SAPPORO}" not in driver.page_source
    driver.find_element(By.PARTIAL_LINK_TEXT, f"prepaid-2026-09-30-{CHIYODA}.pdf").click()  # a download: no new page
    deadline = time.monotonic() + WAIT_SECONDS
    wanted = driver.downloads / f"prepaid-2026-09-30-{CHIYODA}.pdf"
    while not wanted.exists():
        assert time.monotonic() < deadline, "the report was not downloaded"
        time.sleep(0.1)
    assert wanted.read_bytes().startswith(b"%PDF")
    driver.get(f"{base}/breaks/{world.sapporo_break}")
    assert driver.find_element(By.ID, "message").text == "見つかりません。"
    driver.get(f"{base}/today.json?municipality={SAPPORO}")
    assert "AUTH-0002" not in driver.page_source and "800" not in driver.page_source
    driver.get(f"{base}/today")
    _logout(driver)


def _auditor(driver, base: str, world) -> None:
    from selenium.webdriver.common.by import By

    _login(driver, base, "audit")
    _go(driver, driver.find_element(By.LINK_TEXT, "監査"))
    assert "rows_not_null" in driver.find_element(By.ID, "checks").text
    assert "gate" in driver.find_element(By.ID, "runs").text
    trail = driver.find_element(By.ID, "trail").text
    assert "resolve" in trail and "approve" in trail and "download" in trail
    _shot(driver, "auditor")
    _go(driver, driver.find_element(By.ID, "verify-link"))
    assert driver.find_element(By.ID, "verify-result").text.startswith("OK")
    driver.get(f"{base}/breaks/{world.chiyoda_break}")
    assert _absent(driver, By.ID, "resolve") and _absent(driver, By.ID, "reopen")
    _logout(driver)


def test_the_morning_in_a_real_browser(browser, served) -> None:
    world, base = served
    _officer_morning(browser, base, world)
    _approve(browser, base, world)
    _municipality(browser, base, world)
    _auditor(browser, base, world)
    shutil.rmtree(browser.downloads, ignore_errors=True)
