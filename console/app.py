"""The console's web application: `create_app(settings, config)` (FastAPI, Jinja2 pages rendered on the server).

Routes (every page needs a session; `?lang=en` switches to English and keeps it for the account):
    GET  /login  POST /login  POST /logout
    GET  /today[?date=D]                         each municipality of the account: gate, files, breaks, chart
    GET  /today.json[?date=D]                    the same figures as JSON
    GET  /breaks[?status=&municipality=&code=]   the break list;  GET /breaks/{id}  one break;  /breaks/{id}.json
    POST /breaks/{id}/assign|comment|resolve|reopen    officers only: reconciliation.breaks, then the gate
    GET  /payments[?date=D]  /payments/{D}/{file}  /payments/{D}/{file}/download/{file|manifest}
    POST /payments/{D}/{file}/approve            officers only: a detached approval signature, verified
    GET  /reports  /reports/file/{path}          the files under out/ the account may see
    GET  /auditor[?date=D]  /auditor/data-docs/{D}/{path}

Who may see what is decided here, per request, from the account (console.accounts.User): anything outside it is
404 — the same answer as for something that does not exist — so a municipality cannot even learn that another's
break or file exists. Every POST checks the session's CSRF token first. Every action, download and login is
written to the console's audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import accounts, data, files, payments_view
from console.accounts import User
from console.i18n import LANGUAGES, words
from console.security import CSRF_FIELD, SESSION_COOKIE, ConsoleConfig, Sessions, csrf_ok, new_csrf_token
from console.warehouse import NoWarehouse, WarehouseBusy, holding_home, opened
from contracts.reasons import BreakResolution
from seisan.config import Settings

HERE = Path(__file__).resolve().parent
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; object-src 'none'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
BREAK_ACTIONS = ("assign", "comment", "resolve", "reopen")
FORM_FIELD_MAX_CHARS = 4096


class NotFound(Exception):
    """Not there, or not the account's: answered 404 either way."""


class Forbidden(Exception):
    """A read-only account tried to change something, or a form without a valid CSRF token: 403."""


class LoginRequired(Exception):
    """No valid session."""


@dataclass(slots=True)
class Ctx:
    """One request's account, session, language and words."""

    request: Request
    user: User | None
    session: dict[str, Any]
    lang: str
    t: dict[str, str]
    new_session: bool = False

    @property
    def scope(self) -> frozenset[str] | None:
        assert self.user is not None
        return None if self.user.all_municipalities else self.user.municipalities


class Console:
    """The application's state: settings, sessions, the accounts file (one connection, serialised)."""

    def __init__(self, settings: Settings, config: ConsoleConfig) -> None:
        self.settings = settings
        self.config = config
        self.sessions = Sessions(config)
        self.accounts_path = settings.home / accounts.DB_FILE_NAME
        self._accounts = accounts.connect(self.accounts_path)
        self._accounts_lock = threading.Lock()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["yen"] = _yen
        self.templates.env.filters["num"] = lambda v: "" if v is None else (f"{v:,}" if isinstance(v, int) else v)

    def accounts(self, fn, *args, **kwargs):
        with self._accounts_lock:
            return fn(self._accounts, *args, **kwargs)

    def audit(self, ctx: Ctx, action: str, *, target: str | None = None, outcome: str = "ok",
              detail: str | None = None, username: str | None = None) -> None:
        user = ctx.user
        client = ctx.request.client.host if ctx.request.client else None
        self.accounts(accounts.audit, username or (user.username if user else None), user.role if user else None,
                      action, target=target, outcome=outcome, detail=detail, client=client)

    def read(self, command: str):
        return opened(self.settings.home, self.settings.warehouse, write=False,
                      wait_seconds=self.config.lock_wait_seconds, command=command)

    def write(self, command: str):
        return opened(self.settings.home, self.settings.warehouse, write=True,
                      wait_seconds=self.config.lock_wait_seconds, command=command)


def _yen(value: Any) -> str:
    if value is None:
        return ""
    return f"{int(value):,}"


def _context(console: Console, request: Request) -> Ctx:
    session = console.sessions.load(request.cookies.get(SESSION_COOKIE))
    user = None
    if session.get("u"):
        try:
            found = console.accounts(accounts.get_user, session["u"])
            issued = float(session.get("iat") or 0)
            user = None if found.disabled or issued <= found.sessions_after else found
        except accounts.AccountError:
            user = None
    if user is None:
        session = {k: v for k, v in session.items() if k in ("csrf", "lang")}
    new_session = "csrf" not in session
    if new_session:
        session["csrf"] = new_csrf_token()
    requested = request.query_params.get("lang")
    lang = requested if requested in LANGUAGES else session.get("lang") or (user.language if user else "ja")
    if requested in LANGUAGES and user is not None and user.language != requested:
        console.accounts(accounts.set_language, user.username, requested)
    if requested in LANGUAGES and session.get("lang") != requested:
        session["lang"] = requested
        new_session = True
    return Ctx(request, user, session, lang, words(lang), new_session)


def _page(console: Console, ctx: Ctx, template: str, status_code: int = 200, **values) -> HTMLResponse:
    response = console.templates.TemplateResponse(ctx.request, template, {
        "t": ctx.t, "user": ctx.user, "lang": ctx.lang, "csrf": ctx.session["csrf"], "csrf_field": CSRF_FIELD,
        "path": ctx.request.url.path, **values}, status_code=status_code)
    if ctx.new_session:
        console.sessions.set_cookie(response, ctx.session)
    return response


def _need_user(ctx: Ctx) -> User:
    if ctx.user is None:
        raise LoginRequired()
    return ctx.user


async def _form(ctx: Ctx) -> dict[str, Any]:
    """The POSTed form after its CSRF token was checked (Forbidden otherwise)."""
    form = await ctx.request.form()
    if not csrf_ok(ctx.session, form.get(CSRF_FIELD)):
        raise Forbidden("csrf")
    return {k: (v[:FORM_FIELD_MAX_CHARS] if isinstance(v, str) else v) for k, v in form.items()}


def _date_param(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise NotFound() from exc


def create_app(settings: Settings, config: ConsoleConfig) -> FastAPI:
    """The console for one SEISAN_HOME."""
    console = Console(settings, config)
    app = FastAPI(title="seisan console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def ctx_of(request: Request) -> Ctx:
        return _context(console, request)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired):
        if request.method != "GET":
            return Response(status_code=403)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, _exc: NotFound):
        ctx = ctx_of(request)
        return _page(console, ctx, "message.html", 404, message=ctx.t["not_found"])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        ctx = ctx_of(request)
        message = ctx.t["not_found"] if exc.status_code == 404 else str(exc.detail)
        return _page(console, ctx, "message.html", exc.status_code, message=message)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        ctx = ctx_of(request)
        console.audit(ctx, "refused", target=request.url.path, outcome="refused", detail=str(exc) or None)
        return _page(console, ctx, "message.html", 403, message=ctx.t["csrf" if str(exc) == "csrf" else "forbidden"])

    @app.exception_handler(WarehouseBusy)
    async def busy(request: Request, _exc: WarehouseBusy):
        ctx = ctx_of(request)
        return _page(console, ctx, "message.html", 503, message=ctx.t["busy"])

    @app.exception_handler(NoWarehouse)
    async def no_warehouse(request: Request, _exc: NoWarehouse):
        ctx = ctx_of(request)
        return _page(console, ctx, "message.html", 200, message=ctx.t["no_warehouse"])

    @app.get("/static/console.css", include_in_schema=False)
    def stylesheet():
        return FileResponse(HERE / "static" / "console.css", media_type="text/css; charset=utf-8")

    _login_routes(app, console, ctx_of)
    _today_routes(app, console, ctx_of)
    _break_routes(app, console, ctx_of)
    payments_view.add_routes(app, console, ctx_of)
    _report_routes(app, console, ctx_of)
    _auditor_routes(app, console, ctx_of)
    return app


# --- login --------------------------------------------------------------------------------------------------------

def _login_routes(app: FastAPI, console: Console, ctx_of) -> None:
    @app.get("/", include_in_schema=False)
    def root(request: Request):
        ctx = ctx_of(request)
        return RedirectResponse("/today" if ctx.user else "/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        ctx = ctx_of(request)
        if ctx.user is not None:
            return RedirectResponse("/today", status_code=303)
        return _page(console, ctx, "login.html")

    @app.post("/login")
    async def login(request: Request):
        ctx = ctx_of(request)
        form = await _form(ctx)
        username = str(form.get("username") or "")[:64]
        user = console.accounts(accounts.authenticate, username, str(form.get("password") or ""))
        if user is None:
            console.audit(ctx, "login", target=username, outcome="refused", username=None,
                          detail="wrong name or password, or disabled")
            return _page(console, ctx, "login.html", 401, error=ctx.t["login_failed"], username=username)
        ctx.user = user
        console.audit(ctx, "login")
        response = RedirectResponse("/today", status_code=303)
        # a new token for the new session: a token an attacker planted before login is worth nothing after
        console.sessions.set_cookie(response, {"u": user.username, "csrf": new_csrf_token(), "iat": time.time(),
                                               "lang": ctx.session.get("lang") or user.language})
        return response

    @app.post("/logout")
    async def logout(request: Request):
        ctx = ctx_of(request)
        _need_user(ctx)
        await _form(ctx)
        console.audit(ctx, "logout")
        console.accounts(accounts.end_sessions, ctx.user.username)
        response = RedirectResponse("/login", status_code=303)
        console.sessions.clear_cookie(response)
        return response


# --- today --------------------------------------------------------------------------------------------------------

def _today_figures(console: Console, ctx: Ctx, requested: dt.date | None, municipality: str | None):
    user = _need_user(ctx)
    if municipality is not None and not user.sees(municipality):
        raise NotFound()
    scope = ctx.scope if municipality is None else frozenset({municipality})
    with console.read("seisan console today") as con:
        run_date = requested or data.latest_run_date(con)
        if run_date is None:
            return None, [], []
        days = data.today(con, run_date, scope)
        points = data.chart(con, run_date, scope)
    if municipality is not None and not days:
        raise NotFound()
    return run_date, days, points


def _today_routes(app: FastAPI, console: Console, ctx_of) -> None:
    @app.get("/today", response_class=HTMLResponse)
    def today(request: Request, date: str | None = None, municipality: str | None = None):
        ctx = ctx_of(request)
        run_date, days, points = _today_figures(console, ctx, _date_param(date), municipality)
        svg = data.chart_svg(points, (ctx.t["matched"], ctx.t["held"]))
        return _page(console, ctx, "today.html", run_date=run_date, days=days, chart=svg)

    @app.get("/today.json")
    def today_json(request: Request, date: str | None = None, municipality: str | None = None):
        ctx = ctx_of(request)
        run_date, days, points = _today_figures(console, ctx, _date_param(date), municipality)
        return JSONResponse(json.loads(json.dumps({
            "run_date": run_date, "municipalities": [asdict(d) for d in days],
            "chart": [asdict(p) for p in points]}, default=str)))


# --- breaks -------------------------------------------------------------------------------------------------------

def _visible_break(console: Console, ctx: Ctx, con, break_id: str):
    from reconciliation.breaks import BreakNotFound, get_break

    user = _need_user(ctx)
    try:
        found = get_break(con, break_id)
    except BreakNotFound as exc:
        raise NotFound() from exc
    if not user.sees(found.municipality_code):
        raise NotFound()
    return found


def _break_view(console: Console, ctx: Ctx, break_id: str) -> dict[str, Any]:
    from reconciliation.breaks import break_history

    user = _need_user(ctx)
    with console.read("seisan console breaks show") as con:
        found = _visible_break(console, ctx, con, break_id)
        history = break_history(con, break_id)
        sides = [(label, source, data.lineage(text)) for label, source, text in (
            ("left", found.left_source, found.left_lineage), ("right", found.right_source, found.right_lineage))]
        paths = data.inbox_paths(con, [sha for _, _, entries in sides for sha, _ in entries])
    shown = data.shown_break(found, user.sees_keys)
    lineage = [(ctx.t[label], source, [(paths.get(sha, "-"), line, sha) for sha, line in entries])
               for label, source, entries in sides] if user.sees_keys else []
    events = [(e.event_id, e.at.isoformat(sep=" ", timespec="seconds"), e.run_date, e.event_type, e.actor,
               e.reason_code, data._text(e.note, True), e.detail_json if user.sees_keys else None)
              for e in history]
    return {"b": shown, "lineage": lineage, "events": events}


def _break_routes(app: FastAPI, console: Console, ctx_of) -> None:
    from reconciliation.breaks import STATUSES

    @app.get("/breaks", response_class=HTMLResponse)
    def breaks(request: Request, status: str = "open", municipality: str | None = None, code: str | None = None):
        from reconciliation.breaks import list_breaks

        ctx = ctx_of(request)
        user = _need_user(ctx)
        if status not in (*STATUSES, "all"):
            status = "open"
        municipality = municipality or None
        if municipality is not None and not user.sees(municipality):
            raise NotFound()
        if municipality is None and not user.all_municipalities and len(user.municipalities) == 1:
            (municipality,) = user.municipalities  # read only its own rows
        with console.read("seisan console breaks list") as con:
            found = list_breaks(con, status=status, municipality_code=municipality, break_code=code or None)
        visible = [data.shown_break(b, user.sees_keys) for b in found if user.sees(b.municipality_code)]
        total_yen = sum(b.amount_at_risk_yen for b in visible)
        return _page(console, ctx, "breaks.html", breaks=visible[:data.BREAKS_SHOWN_MAX], total=len(visible),
                     total_yen=total_yen, status=status, municipality=municipality or "", code=code or "",
                     statuses=(*STATUSES, "all"))

    @app.get("/breaks/{break_id}.json")
    def break_json(request: Request, break_id: str):
        ctx = ctx_of(request)
        view = _break_view(console, ctx, break_id)
        return JSONResponse(json.loads(json.dumps({"break": asdict(view["b"]), "history": view["events"],
                                                   "lineage": view["lineage"]}, default=str)))

    @app.get("/breaks/{break_id}", response_class=HTMLResponse)
    def one_break(request: Request, break_id: str, done: str | None = None):
        ctx = ctx_of(request)
        view = _break_view(console, ctx, break_id)
        return _page(console, ctx, "break.html", **view, reasons=[c.value for c in BreakResolution],
                     done=done if done in (*BREAK_ACTIONS, "gate") else None, error=None)

    @app.post("/breaks/{break_id}/{action}")
    async def act(request: Request, break_id: str, action: str):
        ctx = ctx_of(request)
        user = _need_user(ctx)
        form = await _form(ctx)
        if action not in BREAK_ACTIONS:
            raise NotFound()
        if not user.may_act:
            raise Forbidden(f"{user.role} may not {action} a break")
        return _break_action(console, ctx, break_id, action, form)


def _break_action(console: Console, ctx: Ctx, break_id: str, action: str, form: dict[str, Any]):
    """Do one officer action exactly as `seisan breaks <action>` does, then (resolve, reopen) decide the gate
    of the newest synced run date again with the DAG's own gate step and rewrite that day's report."""
    from reconciliation import breaks as store

    user = _need_user(ctx)
    now = dt.datetime.now(dt.UTC)
    note = str(form.get("note") or "")
    try:
        with console.write(f"seisan console breaks {action} {break_id}") as con:
            _visible_break(console, ctx, con, break_id)
            if action == "assign":
                event = store.assign(con, break_id, user.username, str(form.get("to") or "").strip(), now,
                                     note=note or None)
            elif action == "comment":
                event = store.comment(con, break_id, user.username, note, now)
            elif action == "resolve":
                event = store.resolve(con, break_id, user.username, str(form.get("reason") or ""), note, now)
            else:
                event = store.reopen(con, break_id, user.username, note, now)
            run_date = store.latest_sync_date(con)
    except store.BreakStoreError as exc:
        console.audit(ctx, action, target=break_id, outcome="refused", detail=str(exc))
        view = _break_view(console, ctx, break_id)
        return _page(console, ctx, "break.html", 400, **view, reasons=[c.value for c in BreakResolution],
                     done=None, error=str(exc))
    console.audit(ctx, action, target=break_id, detail=f"event {event.event_id}"
                  + (f" reason {event.reason_code}" if event.reason_code else ""))
    done = action
    if action in ("resolve", "reopen") and run_date is not None:
        done = "gate" if redecide_gate(console, run_date) else action
    return RedirectResponse(f"/breaks/{break_id}?done={done}", status_code=303)


def redecide_gate(console: Console, run_date: dt.date) -> bool:
    """Decide every gate of `run_date` again and rewrite its daily report, with the DAG's own steps
    (seisan.steps.gate_step, report_step) — what `seisan reconcile` ends with. False when the gate's inputs are
    not there (the gate step says which step to run; the break action itself stands)."""
    from reconciliation.gate import GateInputMissing
    from seisan.steps import gate_step, report_step

    with holding_home(console.settings.home, wait_seconds=console.config.lock_wait_seconds,
                      command=f"seisan console gate --date {run_date}"):
        try:
            gate_step(run_date, console.settings)
        except GateInputMissing:
            return False
        try:
            report_step(run_date, console.settings)
        except ValueError:
            pass  # no reconciliation of that day to report on: the gate is what matters here
    return True


# --- reports ------------------------------------------------------------------------------------------------------

def _payout_owners(console: Console) -> dict[str, str]:
    ids = files.statement_payout_ids(console.settings.out_dir)
    if not ids:
        return {}
    try:
        with console.read("seisan console reports") as con:
            return data.payout_municipalities(con, ids)
    except NoWarehouse:
        return {}


def _report_routes(app: FastAPI, console: Console, ctx_of) -> None:
    @app.get("/reports", response_class=HTMLResponse)
    def reports(request: Request):
        ctx = ctx_of(request)
        user = _need_user(ctx)
        listed = files.list_files(console.settings.out_dir, user, _payout_owners(console))
        listed = [f for f in listed if f.kind != "payments"]
        return _page(console, ctx, "reports.html", files=listed)

    @app.get("/reports/file/{relative:path}")
    def report_file(request: Request, relative: str):
        ctx = ctx_of(request)
        user = _need_user(ctx)
        path = files.safe_path(console.settings.out_dir, relative)
        if path is None:
            raise NotFound()
        inside = path.relative_to(console.settings.out_dir.resolve())
        if not files.may_see(user, inside, _payout_owners(console)):
            raise NotFound()
        console.audit(ctx, "download", target=inside.as_posix())
        return file_response(path)


def file_response(path: Path) -> FileResponse:
    """A file from out/, sandboxed (a report page can run nothing in the console's origin)."""
    inline = path.suffix in (".html", ".pdf", ".png", ".svg", ".txt", ".json")
    response = FileResponse(path, media_type=files.media_type(path), filename=path.name,
                            content_disposition_type="inline" if inline else "attachment")
    response.headers["Content-Security-Policy"] = FILE_CSP
    return response


# --- auditor ------------------------------------------------------------------------------------------------------

def _auditor_user(ctx: Ctx) -> User:
    user = _need_user(ctx)
    if not (user.role == "auditor" or (user.role == "officer" and user.all_municipalities)):
        raise NotFound()
    return user


def _auditor_routes(app: FastAPI, console: Console, ctx_of) -> None:
    @app.get("/auditor", response_class=HTMLResponse)
    def auditor(request: Request, date: str | None = None):
        ctx = ctx_of(request)
        _auditor_user(ctx)
        with console.read("seisan console auditor") as con:
            run_date = _date_param(date) or data.latest_run_date(con)
            checks = data.check_results(con, run_date) if run_date else []
            runs = data.run_log(con)
        out = console.settings.out_dir
        docs = sorted((p.parent.parent.name for p in out.glob("*/data-docs/index.html")), reverse=True) \
            if out.is_dir() else []
        trail = console.accounts(accounts.audit_rows, 200)
        return _page(console, ctx, "auditor.html", run_date=run_date, checks=checks, runs=runs, docs=docs,
                     trail=trail)

    @app.get("/auditor/verify", response_class=HTMLResponse)
    def verify(request: Request):
        """`seisan audit verify` in the browser: both chains recomputed, every recorded output hashed again."""
        from audit.verify import verify_audit

        ctx = ctx_of(request)
        _auditor_user(ctx)
        with console.read("seisan console audit verify") as con:
            if not data.audit_chain_present(con):
                check = None
            else:
                check = verify_audit(con, console.settings.home)
        console.audit(ctx, "audit verify", outcome="ok" if check is None or check.ok else "problems")
        return _page(console, ctx, "verify.html", check=check)

    @app.get("/auditor/trace", response_class=HTMLResponse)
    def trace(request: Request, kind: str = "payout", id: str = "", seq: int | None = None):
        """`seisan trace KIND ID` in the browser: a payout, item, event, terminal record, auth id or break back to
        the inbox lines, or an inbox file forward to every yen it moved."""
        from audit.trace import SECTIONS, START_KINDS, trace_back, trace_forward

        ctx = ctx_of(request)
        _auditor_user(ctx)
        found, error = None, None
        if kind not in START_KINDS:
            raise NotFound()
        if id:
            try:
                with console.read("seisan console trace") as con:
                    found = trace_forward(con, id) if kind == "file" else trace_back(
                        con, kind, id, seq if kind == "terminal" else None)
            except (ValueError, LookupError) as exc:
                error = str(exc)
            console.audit(ctx, "trace", target=f"{kind} {id}", outcome="ok" if error is None else "refused")
        sections = [(name, found.sections.get(name, [])) for name in SECTIONS] if found else []
        return _page(console, ctx, "trace.html", kinds=START_KINDS, kind=kind, id=id, seq=seq, trace=found,
                     sections=[(n, rows) for n, rows in sections if rows], error=error,
                     totals=found.totals() if found else {})

    @app.get("/auditor/data-docs/{date}/{relative:path}")
    def data_docs(request: Request, date: str, relative: str):
        ctx = ctx_of(request)
        _auditor_user(ctx)
        day = _date_param(date)
        path = files.safe_path(console.settings.out_dir / day.isoformat() / "data-docs", relative)
        if path is None:
            raise NotFound()
        return file_response(path)


def accounts_connection(app: FastAPI) -> sqlite3.Connection:
    """The app's accounts connection (tests read the audit log through it)."""
    return app.state.console._accounts
