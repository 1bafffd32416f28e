"""Fixtures for the reader agent: a real PC/SC stack (our own pcscd with the vpcd driver), virtual JPKI cards
as separate processes, the loopback HTTPS stand-in platform over a small simulated world, and an initialised
terminal. Everything started here is stopped here, by the PID we saved.

Outside CI the PC/SC tests skip when pcscd or the vpcd driver is absent (saying why); with CI=true they fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
SEED = "reader-tests"
PIN = "8264"
READER0 = "Virtual PCD 00 00"
MUNICIPALITY = "131016"
MERCHANT = "M00000001"
TERMINAL = "T00000001"
MYKEY = "MK0000000001"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pcscd_pids() -> list[int]:
    """Live (not zombie) pcscd processes on this host."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
        if name == "pcscd" and state != "Z":
            pids.append(int(entry.name))
    return pids


def _missing_stack() -> str | None:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        return "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)"
    if not VPCD_CONF.exists():
        return "the vpcd driver is not installed (apt-get install vsmartcard-vpcd)"
    try:
        import smartcard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (uv sync --extra reader)"
    return None


def _readers() -> list[str]:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != 0:
        return []
    try:
        hresult, names = scard.SCardListReaders(context, [])
        return list(names) if hresult == 0 else []
    finally:
        scard.SCardReleaseContext(context)


def card_present(reader: str = READER0) -> bool:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return hresult == 0 and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def pcsc_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Our own pcscd (foreground, its PID saved) reading a private copy of the vpcd reader config."""
    missing = _missing_stack()
    if missing:
        if in_ci():
            pytest.fail(f"CI=true but the PC/SC test stack is missing: {missing}")
        pytest.skip(missing)
    workdir = tmp_path_factory.mktemp("pcsc")
    if _pcscd_pids():
        _wait(lambda: not _pcscd_pids(), 30, "another pcscd on this host to exit (one pcscd per host)")
    if PCSCD_SOCKET.exists():  # left behind by a crashed run: no pcscd process is alive
        PCSCD_SOCKET.unlink()
    conf = workdir / "reader.conf.d"
    conf.mkdir()
    shutil.copy(VPCD_CONF, conf / "vpcd")
    log = open(workdir / "pcscd.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(["pcscd", "--foreground", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    (workdir / "pcscd.pid").write_text(str(process.pid))
    try:
        _wait(lambda: READER0 in _readers(), 15, "pcscd to list the virtual readers")
        yield workdir
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass(frozen=True, slots=True)
class CardSet:
    """Card files per kind (valid, expired, foreign, unregistered) and the CA."""

    files: dict
    ca_der: bytes


@pytest.fixture(scope="session")
def card_set(tmp_path_factory: pytest.TempPathFactory) -> CardSet:
    from reader_harness.virtual_card.profiles import card_serial, write_card_files
    from simulator.jpki_ca import SimulatedCA
    from simulator.keys import rsa_key

    base = tmp_path_factory.mktemp("cards")
    ca = SimulatedCA.create(SEED)  # the simulated world's JPKI CA issues the test cards

    def card(kind: str, holder: int) -> object:
        key = rsa_key(f"seed={SEED}/card-key/{holder}")
        return write_card_files(base / (kind if holder == 1 else "unregistered"), ca, key,
                                card_serial(SEED, holder, kind), kind)

    files = {kind: card(kind, 1) for kind in ("valid", "expired", "foreign")}
    files["unregistered"] = card("valid", 2)
    return CardSet(files, files["valid"].ca_der.read_bytes())


@dataclass(slots=True)
class CardSlot:
    """Starts virtual cards as processes in slot 0 and removes them (SIGTERM by saved PID)."""

    card_set: CardSet
    processes: list[subprocess.Popen] = field(default_factory=list)

    def insert(self, kind: str = "valid", *knobs: str, tries: int = 3, wait: bool = True) -> subprocess.Popen:
        files = self.card_set.files[kind]
        argv = [sys.executable, "-m", "reader_harness.virtual_card", "--dir", str(files.directory), "--pin", PIN,
                "--reset-tries", "--auth-tries", str(tries), *knobs]
        process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        if wait:
            _wait(card_present, 10, "the virtual card to be inserted")
        return process

    def tries_on_card(self, kind: str = "valid") -> int:
        import json

        return int(json.loads((self.card_set.files[kind].directory / "tries.json").read_text())["24"])

    def remove_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(10)
            if process.stderr is not None:
                process.stderr.close()
        self.processes.clear()
        _wait(lambda: not card_present(), 10, "the reader to report the card removed")


@pytest.fixture
def card_slot(pcsc_stack: Path, card_set: CardSet) -> Iterator[CardSlot]:
    slot = CardSlot(card_set)
    try:
        yield slot
    finally:
        slot.remove_all()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory):
    from reader_harness.standin_platform import make_tls_files

    return make_tls_files(tmp_path_factory.mktemp("tls"))


@dataclass(frozen=True, slots=True)
class Terminal:
    state_dir: Path
    public_key_b64: str


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    from reader_agent.cli import main

    out = io.StringIO()
    state = tmp_path / "terminal"
    code = main(["--state-dir", str(state), "init-terminal", "--terminal-id", TERMINAL, "--merchant-id",
                 MERCHANT], out=out, err=io.StringIO())
    assert code == 0
    line = out.getvalue().strip().splitlines()[-1]
    return Terminal(state, line.split(",")[2])


@dataclass(slots=True)
class World:
    inbox: Path
    platform: object
    server: object
    tls: object
    date: dt.date

    @property
    def url(self) -> str:
        return self.server.url


BALANCE_START = 5000


@pytest.fixture
def world(tmp_path: Path, terminal: Terminal, card_set: CardSet, tls_files) -> Iterator[World]:
    """Inbox + stand-in platform: resident MYKEY holds 3000 + 2000 points of MUNICIPALITY (two programmes)."""
    from reader_harness.standin_platform import Platform, PlatformServer, load_world, write_world

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    inbox = tmp_path / "inbox"
    certs = [(MYKEY, f.serial_hex, f.cert_der.read_bytes())
             for k, f in card_set.files.items() if k in ("valid", "expired", "foreign")]
    write_world(inbox, today, {MERCHANT: "active"}, [(MUNICIPALITY, MERCHANT)],
                [(TERMINAL, MERCHANT, terminal.public_key_b64)], certs,
                [(MUNICIPALITY, "benefit", MYKEY, 3000), (MUNICIPALITY, "health", MYKEY, 2000)])
    platform = Platform(load_world(inbox, today), inbox=inbox, today=today)
    server = PlatformServer(platform, tls_files).start()
    try:
        yield World(inbox, platform, server, tls_files, today)
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class Run:
    """What one in-process run printed: out/err are the agent's messages, trace the APDU trace (--trace writes
    it to stderr), pin_asked how often the PIN was asked for, pins the very bytearrays handed to the agent as
    the PIN (so a test can check they were wiped)."""

    code: int
    out: str
    err: str
    pin_asked: int
    trace: str = ""
    pins: tuple[bytearray, ...] = ()


def run_agent(terminal: Terminal, world: World | None, *argv: str, pin: str = PIN, lang: str = "en",
              extra: tuple[str, ...] = (), timeout_args: tuple[str, ...] = ()) -> Run:
    """Run the real agent in-process; the PIN comes from a counting stand-in for the keyboard."""
    from reader_agent.cli import main

    asked, pins = [], []

    def pin_source(prompt: str, timeout_s: float) -> bytearray:
        asked.append(prompt)
        pins.append(bytearray(pin.encode()))
        return pins[-1]

    net = ["--platform-url", world.url, "--platform-ca", str(world.tls.ca_pem)] if world else []
    command, rest = argv[0], list(argv[1:])
    if command in ("pay", "cancel"):
        rest += ["--reader", READER0, "--card-wait", "3", *timeout_args]
    if command in ("pay", "cancel", "recover", "upload"):
        rest += net
    out, err, trace = io.StringIO(), io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(trace):
        code = main(["--state-dir", str(terminal.state_dir), "--lang", lang, *extra, command, *rest],
                    pin_source=pin_source, out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue(), len(asked), trace.getvalue(), tuple(pins))


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env
