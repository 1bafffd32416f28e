"""Fixtures of the console tests: a world per module, an app on it, and a logged-in client per role."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))  # console_world
from console_world import World, app_for, build_world, copy_world, fast_hashing, login  # noqa: E402


@pytest.fixture(scope="session")
def template_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The world, built once per session; tests take copies (copying is ten times cheaper than building)."""
    fast_hashing()
    return build_world(tmp_path_factory.mktemp("console-template") / "home")


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
