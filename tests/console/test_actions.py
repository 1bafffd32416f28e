"""What the console changes, and the refusals around it: CSRF, read-only roles, other municipalities, logins,
the break actions (the same functions as `seisan breaks`) with the gate decided again, the detached approval of
a payment file, and the audit rows every action leaves."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from console_world import CHIYODA, PASSWORD, PAY_DATE, SECRET, app_for, copy_world, csrf_of, login, settings_for
from fastapi.testclient import TestClient

from console.accounts import audit_rows
from console.app import accounts_connection, create_app
from console.security import SESSION_COOKIE, ConsoleConfig
from payments.file_steps import verify_file
from payments.files import manifest_name_for, read_manifest
from payments.officers import load_private_key, load_registry
from payments.signing import approval_signature


@pytest.fixture
def fresh(template_world, tmp_path: Path):
    """A world of its own (these tests change it) and its app."""
    world = copy_world(template_world, tmp_path / "home")
    return world, app_for(world.home)


def _client(app, name: str | None) -> TestClient:
    client = TestClient(app)
    if name is not None:
        assert login(client, name).status_code == 303
    return client


def _events(world, break_id: str) -> list[tuple]:
    with duckdb.connect(str(world.home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select event_type, actor, reason_code from recon.break_events where break_id = ? "
                           "order by event_id", [break_id]).fetchall()


def _gate(world, code: str) -> str:
    with duckdb.connect(str(world.home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select status from recon.gate where municipality_code = ? order by run_date desc "
                           "limit 1", [code]).fetchone()[0]


def _audit(app) -> list[tuple]:
    return [(r.username, r.action, r.target, r.outcome) for r in reversed(audit_rows(accounts_connection(app)))]


def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(fresh) -> None:
    world, app = fresh
    officer = _client(app, "OFF-KATO")
    before = _events(world, world.chiyoda_break)
    for data in ({"note": "no token"}, {"note": "forged", "csrf_token": "forged"}):
        response = officer.post(f"/breaks/{world.chiyoda_break}/comment", data=data, follow_redirects=False)
        assert response.status_code == 403
    other = _client(app, "OFF-CHIYODA")  # another session's token is not this session's
    stolen = csrf_of(other)
    assert officer.post(f"/breaks/{world.chiyoda_break}/comment", data={"note": "x", "csrf_token": stolen}
                        ).status_code == 403
    nobody = TestClient(app)
    assert nobody.post(f"/breaks/{world.chiyoda_break}/comment", data={"note": "x"}).status_code == 403
    assert nobody.post("/login", data={"username": "OFF-KATO", "password": PASSWORD}).status_code == 403
    assert _events(world, world.chiyoda_break) == before
    assert ("OFF-KATO", "refused", f"/breaks/{world.chiyoda_break}/comment", "refused") in _audit(app)


def test_read_only_roles_and_other_municipalities_cannot_act(fresh) -> None:
    world, app = fresh
    before = _events(world, world.chiyoda_break)
    for name in ("chiyoda", "audit"):
        client = _client(app, name)
        token = csrf_of(client)
        for action in ("comment", "resolve", "assign", "reopen"):
            response = client.post(f"/breaks/{world.chiyoda_break}/{action}",
                                   data={"csrf_token": token, "note": "n", "reason": "false_positive", "to": name})
            assert response.status_code == 403, (name, action)
        response = client.post(f"/payments/{PAY_DATE}/{world.chiyoda_file}/approve",
                               data={"csrf_token": token, "signature": "AAAA"})
        assert response.status_code == (404 if name == "chiyoda" else 403)
    chiyoda_office = _client(app, "OFF-CHIYODA")
    response = chiyoda_office.post(f"/breaks/{world.sapporo_break}/comment",
                                   data={"csrf_token": csrf_of(chiyoda_office), "note": "not ours"})
    assert response.status_code == 404 and "AUTH-0002" not in response.text
    assert _events(world, world.chiyoda_break) == before


def test_logins_logouts_and_sessions(fresh) -> None:
    world, app = fresh
    client = TestClient(app)
    assert login(client, "OFF-KATO", "wrong password!!").status_code == 401
    assert login(client, "nobody-at-all", PASSWORD).status_code == 401
    assert login(client, "gone", PASSWORD).status_code == 401  # disabled
    assert login(client, "OFF-KATO").status_code == 303
    assert client.get("/today", follow_redirects=False).status_code == 200
    kept = client.cookies.get(SESSION_COOKIE)
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False).status_code == 303
    assert client.get("/today", follow_redirects=False).status_code == 303
    replayed = TestClient(app)  # a copy of the cookie taken before the logout is void too
    replayed.cookies.set(SESSION_COOKIE, kept)
    assert replayed.get("/today", follow_redirects=False).status_code == 303
    tampered = TestClient(app)
    tampered.cookies.set(SESSION_COOKIE, "eyJ1IjoiYXVkaXQifQ.forged.signature")
    assert tampered.get("/today", follow_redirects=False).status_code == 303
    trail = _audit(app)
    assert (None, "login", "OFF-KATO", "refused") in trail and (None, "login", "gone", "refused") in trail
    assert ("OFF-KATO", "login", None, "ok") in trail and ("OFF-KATO", "logout", None, "ok") in trail


def test_the_session_cookie_is_secure_http_only_and_strict(fresh) -> None:
    world, _ = fresh
    app = create_app(settings_for(world.home), ConsoleConfig(secret=SECRET, cookie_secure=True))
    client = TestClient(app, base_url="https://testserver")
    response = login(client, "audit")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert PASSWORD not in cookie and "audit" not in cookie.split(";")[0].split(".")[-1]


def test_an_officer_works_a_break_and_the_gate_is_decided_again(fresh) -> None:
    world, app = fresh
    officer = _client(app, "OFF-CHIYODA")
    assert _gate(world, CHIYODA) == "blocked"
    page = f"/breaks/{world.chiyoda_break}"
    for action, data in (("assign", {"to": "OFF-KATO", "note": "please look"}), ("comment", {"note": "called"}),
                         ("resolve", {"reason": "nonsense", "note": "x"})):
        response = officer.post(f"{page}/{action}", data={"csrf_token": csrf_of(officer, page), **data},
                                follow_redirects=False)
        assert response.status_code == (400 if action == "resolve" else 303), action
    assert "not a resolution reason" in response.text
    response = officer.post(f"{page}/resolve", data={"csrf_token": csrf_of(officer, page),
                                                     "reason": "corrected_at_source", "note": "redelivered"})
    assert response.status_code == 200 and "支払ゲートを再判定しました" in response.text
    assert _gate(world, CHIYODA) == "open"
    assert "開放（支払可）" in officer.get("/today").text
    response = officer.post(f"{page}/reopen", data={"csrf_token": csrf_of(officer, page), "note": "again"})
    assert response.status_code == 200 and _gate(world, CHIYODA) == "blocked"
    assert _events(world, world.chiyoda_break)[-4:] == [
        ("assigned", "OFF-CHIYODA", None), ("commented", "OFF-CHIYODA", None),
        ("resolved", "OFF-CHIYODA", "corrected_at_source"), ("reopened", "OFF-CHIYODA", None)]
    actions = [(a, outcome) for user, a, target, outcome in _audit(app) if target == world.chiyoda_break]
    assert actions == [("assign", "ok"), ("comment", "ok"), ("resolve", "refused"), ("resolve", "ok"),
                       ("reopen", "ok")]
    history = officer.get(page).text
    assert "redelivered" in history and "corrected_at_source" in history


def test_approval_by_a_detached_signature(fresh, capsys, monkeypatch) -> None:
    from seisan.cli import main

    world, app = fresh
    monkeypatch.setenv("SEISAN_HOME", str(world.home))
    path = world.home / "out" / PAY_DATE.isoformat() / "payments" / world.chiyoda_file
    manifest, data = read_manifest(path.with_name(manifest_name_for(path.name))), path.read_bytes()
    registry = load_registry(world.home / "officers.toml")
    officer = _client(app, "OFF-KATO")
    page = f"/payments/{PAY_DATE}/{world.chiyoda_file}"
    # a signature by another approver's key (OFF-ITO), claimed by OFF-KATO, is refused by payments' verify
    forged = approval_signature(manifest, data, "OFF-ITO", load_private_key(world.key_dir, "OFF-ITO"), registry)
    response = officer.post(f"{page}/approve", data={"csrf_token": csrf_of(officer, page), "signature": forged})
    assert response.status_code == 400 and "does not match" in response.text
    # the signature made locally with the command the page shows
    assert main(["payments", "sign-approval", str(path), "--officer", "OFF-KATO", "--key-dir",
                 str(world.key_dir)]) == 0
    signature = capsys.readouterr().out.strip()
    response = officer.post(f"{page}/approve", data={"csrf_token": csrf_of(officer, page)},
                            files={"signature_file": ("sig.txt", signature.encode())}, follow_redirects=False)
    assert response.status_code == 303
    assert read_manifest(path.with_name(manifest_name_for(path.name)))["approved_by"] == "OFF-KATO"
    assert verify_file(path, registry).ok
    assert "both signatures verified" in officer.get(f"{page}?lang=en").text
    # an officer not in the registry, or a second approver, cannot add an approval
    other = _client(app, "OFF-CHIYODA")
    response = other.post(f"{page}/approve", data={"csrf_token": csrf_of(other, page), "signature": signature})
    assert response.status_code in (200, 400) and read_manifest(
        path.with_name(manifest_name_for(path.name)))["approved_by"] == "OFF-KATO"
    trail = [(u, a, outcome) for u, a, target, outcome in _audit(app) if target and target.endswith(path.name)]
    assert trail[:2] == [("OFF-KATO", "approve", "refused"), ("OFF-KATO", "approve", "ok")]
    assert json.loads(json.dumps(trail))  # plain rows


def test_downloads_are_audited(fresh) -> None:
    world, app = fresh
    client = _client(app, "chiyoda")
    assert client.get(f"/reports/file/prepaid/2026-09-30/prepaid-2026-09-30-{CHIYODA}.pdf").status_code == 200
    assert ("chiyoda", "download", f"prepaid/2026-09-30/prepaid-2026-09-30-{CHIYODA}.pdf", "ok") in _audit(app)


def test_a_run_holding_the_home_makes_pages_say_busy_but_logins_still_work(fresh) -> None:
    """While another process (a DAG run) holds the home's exclusive lock, a page waits briefly and answers 503;
    the accounts file is not the warehouse, so logging in and the audit log keep working."""
    import subprocess
    import sys

    world, _ = fresh
    app = create_app(settings_for(world.home), ConsoleConfig(secret=SECRET, cookie_secure=False,
                                                             lock_wait_seconds=0.3))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(world.home / '.seisan.lock')!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        client = TestClient(app)
        assert login(client, "OFF-KATO").status_code == 303
        response = client.get("/today")
        assert response.status_code == 503 and "処理の実行中です" in response.text
    finally:
        holder.kill()
        holder.wait()
    assert client.get("/today").status_code == 200


def test_the_auditor_page_shows_a_tampered_run_log(fresh) -> None:
    world, app = fresh
    with duckdb.connect(str(world.home / "warehouse.duckdb")) as con:
        con.execute("update audit.step_runs set seconds = 0.5")
    page = _client(app, "audit").get("/auditor/verify?lang=en").text
    assert "FAILED" in page and "row_edited" in page
    assert ("audit", "audit verify", None, "problems") in _audit(app)
