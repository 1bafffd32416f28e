"""Screenshots of the console's main pages on a real home (e.g. the demo's), for docs/console.md:

    SEISAN_HOME=./var/demo SEISAN_PAYMENTS_OFFICERS_FILE=./var/demo/demo-officers.toml \\
        uv run --frozen python -m console.screenshots --accounts ACCOUNTS --out docs/img

ACCOUNTS is a text file of lines `name role password` (what seisan.cli_console.demo_accounts returns): the
officer's pages are taken as the first officer, Reports as the first municipality account, Auditor as the first
auditor. The console is served on a free loopback port in this process and driven by Debian's Chromium through
Selenium (a development dependency: this module is a tool, nothing imports it). Nothing is changed: no form is
submitted but the login. tests/console/test_browser.py takes the same pictures of its hand-built world
(SEISAN_SCREENSHOTS=DIR).
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WINDOW = (1280, 1000)


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--disable-gpu", f"--window-size={WINDOW[0]},{WINDOW[1]}", "--lang=ja",
                     "--disable-dev-shm-usage", *(["--no-sandbox"] if os.geteuid() == 0 else [])):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    return driver


def _serve(app) -> tuple[object, str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _login(driver, base: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login?lang=ja")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()
    driver.find_element(By.ID, "who")


def _logout(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "logout").click()


def _first_link(driver, css: str) -> str | None:
    from selenium.webdriver.common.by import By

    driver.implicitly_wait(0)
    found = driver.find_elements(By.CSS_SELECTOR, css)
    driver.implicitly_wait(2)
    return found[0].get_attribute("href") if found else None


def take(base: str, accounts: dict[str, tuple[str, str]], out: Path) -> list[Path]:
    """Log in as each role and save console-<page>.png into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    driver = _driver()

    def shot(name: str) -> None:
        written.append(out / f"console-{name}.png")
        driver.save_screenshot(str(written[-1]))

    try:
        officer, password = accounts["officer"]
        _login(driver, base, officer, password)
        shot("today")
        driver.get(f"{base}/breaks")
        shot("breaks")
        link = _first_link(driver, "#breaks td a")
        if link:
            driver.get(link)
            shot("break")
        for day in [None, *[a.text for a in driver.find_elements("css selector", "main p a")]]:
            driver.get(f"{base}/payments" + (f"?date={day}" if day else ""))
            link = _first_link(driver, "#files td a")
            if link:
                shot("payments")
                driver.get(link)
                shot("payment")
                break
        _logout(driver)
        _login(driver, base, *accounts["municipality"])
        driver.get(f"{base}/reports")
        shot("reports")
        _logout(driver)
        _login(driver, base, *accounts["auditor"])
        driver.get(f"{base}/auditor")
        shot("auditor")
        _logout(driver)
    finally:
        driver.quit()
    return written


def main(argv: list[str] | None = None) -> int:
    from seisan.cli_console import make_app
    from seisan.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m console.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=Path, required=True, help="lines of `name role password`")
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="folder for console-*.png")
    args = parser.parse_args(argv)
    accounts: dict[str, tuple[str, str]] = {}
    for line in args.accounts.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            accounts.setdefault(parts[1], (parts[0], parts[2]))
    app = make_app(load_settings(), cookie_secure=False)
    server, base = _serve(app)
    try:
        for path in take(base, accounts, args.out):
            print(f"{path} ({path.stat().st_size // 1024} KB)")
    finally:
        server.should_exit = True
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
