"""Fixtures of the console tests: a world per module, an app on it, and a logged-in client per role."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from world import PASSWORD, SECRET, World, build_world, fast_hashing  # noqa: E402

from console.app import create_app  # noqa: E402
from console.security import ConsoleConfig  # noqa: E402
from seisan.config import load_settings  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings_for(home: Path):
    return load_settings(env={"SEISAN_HOME": str(home), "SEISAN_LOCK_WAIT_SECONDS": "5"})


def app_for(home: Path):
    return create_app(settings_for(home), ConsoleConfig(secret=SECRET, cookie_secure=False))


def csrf_of(client: TestClient, path: str = "/today") -> str:
    found = CSRF_RE.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


@pytest.fixture(scope="session")
def template_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The world, built once per session; tests take copies (copying is ten times cheaper than building)."""
    fast_hashing()
    return build_world(tmp_path_factory.mktemp("console-template") / "home")


def copy_world(template: World, home: Path) -> World:
    shutil.copytree(template.home, home, symlinks=True)
    return replace(template, home=home, key_dir=home / template.key_dir.relative_to(template.home))


@pytest.fixture(scope="module")
def world(template_world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    return copy_world(template_world, tmp_path_factory.mktemp("console") / "home")


@pytest.fixture(scope="module")
def app(world: World):
    return app_for(world.home)


@pytest.fixture(scope="module")
def client_as(app) -> Iterator[Callable[[str | None], TestClient]]:
    """client_as(name): a client logged in as `name` (None: nobody), one per name for the module."""
    clients: dict[str | None, TestClient] = {}

    def get(name: str | None) -> TestClient:
        if name not in clients:
            client = TestClient(app)
            if name is not None:
                assert login(client, name).status_code == 303
            clients[name] = client
        return clients[name]

    yield get
    for client in clients.values():
        client.close()
