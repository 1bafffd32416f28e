"""int_lot_movements: the FIFO engine. Every change to a point lot, one row per (event, lot, kind).

Grain: one row per movement: (event_id, lot_event_id, movement_kind). Kinds and their effect on the lot:
  create  +amount   a grant, charge or positive adjust opens its lot
  consume -amount   a use (or negative adjust, within its programme) takes from a lot, FIFO order
  restore +amount   a cancel gives back to a lot its use consumed, last-consumed first
  lapse   -amount   what a cancel gave back to an already-expired lot lapses at once (23:59:59 of that date)
  expire  -amount   a lot's remainder at its expiry date 23:59:59 JST; written for EVERY lot once its expiry
                    date is reached, with amount 0 when nothing was left (see "partitions" below)
  shortfall 0       the part of a use no unexpired lot could cover (a control break, points do not go negative)
  unrestored 0      the part of a cancel, within what its use still holds, that matches nothing its use
                    consumed (the use's own shortfall): taken back from the merchant, no lot moves
  cancel_excess 0   the part of a cancel beyond what its use still holds after earlier cancels (or all of a
                    cancel whose use is not found): a control break, never taken from the merchant
  noop     0        an event that moved nothing (e.g. amount 0), so that every event leaves a row

settlement_yen: the signed settlement effect of the row, decided HERE once and only summed elsewhere: a use's
consume and shortfall add to what its merchant is owed, a cancel's restore and unrestored take it back; every
other row is 0. A cancel gives back at most what its use still holds (FORMATS.md "Cancels in settlement"), and
its rows carry the USE's merchant (int_settlement__events).

Rules (FORMATS.md, "How the platform moves points"): lots are pooled per (municipality, MyKey ID); a use takes
unexpired lots in order of expiry date (none last), then event time, then event_id; a lot with expiry date E is
spendable until E 23:59:59; events are applied in (event_ts, event_id) order. The platform's own `expire`
events are NOT read: seisan's expiries are recomputed independently from the programme rules and drive the
balances; reconciliation compares them with the platform's (marts.fct_platform_expiries).

Why Python: FIFO with cancels restoring last-consumed-first and expiries interleaved between events is a
sequential state machine per resident; in SQL it needs a recursive CTE over every event, which is neither clear
nor incremental. dbt-duckdb runs this model in-process on the same DuckDB connection.

Incremental ("partitions"): the table is written with delete+insert on (municipality_code, mykey_id,
business_date). A run for D finds, per resident, the earliest date that needs (re)computing: the earliest event
not yet in this table (a late file can bring an old one) or the earliest reached expiry not yet written. It
loads that resident's state from rows before that date (lot remainders, what each cancelled use still holds),
replays the resident's events from that date up to D and returns every movement from that date on. Which
(resident, date) partitions exist depends only on events and lots, never on how points were allocated (hence
expire rows of amount 0), so delete+insert replaces exactly the stale rows. A normal day touches only the
residents active that day or with a lot expiring; its cost does not grow with history.

This model must never read the inbox or the raw schema directly, and must never use floats for amounts.
"""

import datetime as dt

import pyarrow as pa

END_OF_DAY = dt.time(23, 59, 59)
ONE_DAY = dt.timedelta(days=1)

COLUMNS = [
    ("movement_id", pa.string()),
    ("municipality_code", pa.string()),
    ("mykey_id", pa.string()),
    ("business_date", pa.date32()),
    ("movement_ts", pa.timestamp("us")),
    ("event_id", pa.string()),
    ("event_type", pa.string()),
    ("movement_kind", pa.string()),
    ("lot_event_id", pa.string()),
    ("program_code", pa.string()),
    ("funding", pa.string()),
    ("lot_expiry_date", pa.date32()),
    ("amount_yen", pa.int64()),
    ("lot_delta_yen", pa.int64()),
    ("settlement_yen", pa.int64()),
    ("allocation_seq", pa.int32()),
    ("use_event_id", pa.string()),
    ("merchant_id", pa.string()),
    ("computed_for_date", pa.date32()),
]
SCHEMA = pa.schema(COLUMNS)


class Lot:
    """A lot's state while replaying: remaining_yen and whether its expiry has been written."""

    __slots__ = ("lot_event_id", "program_code", "funding", "expiry_date", "granted_ts", "remaining_yen",
                 "is_expired")

    def __init__(self, lot_event_id, program_code, funding, expiry_date, granted_ts, remaining_yen, is_expired):
        self.lot_event_id = lot_event_id
        self.program_code = program_code
        self.funding = funding
        self.expiry_date = expiry_date
        self.granted_ts = granted_ts
        self.remaining_yen = remaining_yen
        self.is_expired = is_expired

    def spend_order(self):
        """FIFO order: expiry date (none last), then grant time, then event id."""
        return (self.expiry_date is None, self.expiry_date or dt.date.max, self.granted_ts, self.lot_event_id)


class Replay:
    """Replays one resident's events over its lots and collects movement rows."""

    def __init__(self, municipality_code, mykey_id, lots, allocations, held, computed_for_date):
        self.municipality_code = municipality_code
        self.mykey_id = mykey_id
        self.lots = lots                  # lot_event_id -> Lot
        self.allocations = allocations    # use event_id -> [[lot_event_id, net consumed yen], ...] in order
        self.held = held                  # use event_id -> yen the use still holds after cancels so far
        self.computed_for_date = computed_for_date
        self.rows = []
        self.next_expiry = None           # the earliest expiry date of an unexpired lot, kept by run()

    def emit(self, event_id, event_type, kind, ts, lot, amount, delta, seq, use_event_id=None, merchant_id=None,
             settlement=0):
        lot_id = lot.lot_event_id if lot is not None else None
        self.rows.append((
            f"{event_id}|{lot_id or ''}|{kind}", self.municipality_code, self.mykey_id, ts.date(), ts,
            event_id, event_type, kind, lot_id,
            lot.program_code if lot is not None else None, lot.funding if lot is not None else None,
            lot.expiry_date if lot is not None else None,
            amount, delta, settlement, seq, use_event_id, merchant_id, self.computed_for_date,
        ))

    def expirable(self):
        """The lots that will expire and have not yet."""
        return (lot for lot in self.lots.values() if not lot.is_expired and lot.expiry_date is not None)

    def earliest_expiry(self):
        """The earliest expiry date of a lot not yet expired (None: no lot can expire)."""
        return min((lot.expiry_date for lot in self.expirable()), default=None)

    def expire_through(self, last_date):
        """Write the expiry of every unexpired lot whose expiry date is on or before last_date."""
        # Called before every event: without this test it looked at every lot of the resident each time (a full
        # build of four days at 1,000,000 residents: the model 35.0 -> 33.6 s; a daily build's residents have a few
        # events each and gain nothing). next_expiry is exact: run() sets it from the lots, open_lot lowers it, and
        # only this method expires a lot.
        if self.next_expiry is None or self.next_expiry > last_date:
            return
        due = [lot for lot in self.expirable() if lot.expiry_date <= last_date]
        for lot in sorted(due, key=Lot.spend_order):
            amount = lot.remaining_yen
            ts = dt.datetime.combine(lot.expiry_date, END_OF_DAY)
            self.emit(f"expiry:{lot.lot_event_id}", "expiry", "expire", ts, lot, amount, -amount, 0)
            lot.remaining_yen = 0
            lot.is_expired = True
        self.next_expiry = self.earliest_expiry()

    def apply(self, event):
        """Apply one event (a dict of int_ledger__fifo_input columns) and write its movements."""
        before = len(self.rows)
        event_type, amount = event["event_type"], event["amount_yen"]
        if event["is_lot"]:
            self.open_lot(event)
        elif event_type == "use":
            self.consume(event, program_code=None)
        elif event_type == "adjust" and amount < 0:
            self.consume(event, program_code=event["program_code"])
        elif event_type == "cancel":
            self.restore(event)
        if len(self.rows) == before:
            self.emit(event["event_id"], event_type, "noop", event["event_ts"], None, 0, 0, 0,
                      merchant_id=event["merchant_id"])

    def open_lot(self, event):
        lot = Lot(event["event_id"], event["program_code"], event["funding"], event["lot_expiry_date"],
                  event["event_ts"], event["amount_yen"], False)
        self.lots[lot.lot_event_id] = lot
        if lot.expiry_date is not None and (self.next_expiry is None or lot.expiry_date < self.next_expiry):
            self.next_expiry = lot.expiry_date
        self.emit(event["event_id"], event["event_type"], "create", event["event_ts"], lot,
                  lot.remaining_yen, lot.remaining_yen, 0)

    def consume(self, event, program_code):
        need = abs(event["amount_yen"])
        event_id, event_type, ts = event["event_id"], event["event_type"], event["event_ts"]
        is_use = event_type == "use"   # what a use takes is owed to its merchant; a negative adjust's is not
        usable = [lot for lot in self.lots.values()
                  if not lot.is_expired and lot.remaining_yen > 0
                  and (program_code is None or lot.program_code == program_code)]
        taken = []
        for seq, lot in enumerate(sorted(usable, key=Lot.spend_order), start=1):
            if need == 0:
                break
            take = min(lot.remaining_yen, need)
            lot.remaining_yen -= take
            need -= take
            taken.append([lot.lot_event_id, take])
            self.emit(event_id, event_type, "consume", ts, lot, take, -take, seq, merchant_id=event["merchant_id"],
                      settlement=take if is_use else 0)
        if is_use:
            self.allocations[event_id] = taken
            self.held[event_id] = abs(event["amount_yen"])
        if need > 0:
            self.emit(event_id, event_type, "shortfall", ts, None, need, 0, 0, merchant_id=event["merchant_id"],
                      settlement=need if is_use else 0)

    def restore(self, event):
        event_id, ts, use_id = event["event_id"], event["event_ts"], event["cancel_of"]
        # at most what the use still holds after earlier cancels (0 when the use is not this resident's)
        need = min(event["amount_yen"], self.held.get(use_id, 0))
        excess = event["amount_yen"] - need
        if use_id in self.held:
            self.held[use_id] -= need
        lapse_ts = dt.datetime.combine(ts.date(), END_OF_DAY)
        for seq, entry in enumerate(reversed(self.allocations.get(use_id, [])), start=1):
            give = min(entry[1], need)
            if give == 0:
                continue
            entry[1] -= give
            need -= give
            lot = self.lots[entry[0]]
            lot.remaining_yen += give
            self.emit(event_id, "cancel", "restore", ts, lot, give, give, seq, use_id, event["merchant_id"],
                      settlement=-give)
            if lot.is_expired:
                lot.remaining_yen -= give
                self.emit(event_id, "cancel", "lapse", lapse_ts, lot, give, -give, seq, use_id,
                          event["merchant_id"])
        if need > 0:
            self.emit(event_id, "cancel", "unrestored", ts, None, need, 0, 0, use_id, event["merchant_id"],
                      settlement=-need)
        if excess > 0:
            self.emit(event_id, "cancel", "cancel_excess", ts, None, excess, 0, 0, use_id, event["merchant_id"])

    def run(self, events, horizon_date):
        self.next_expiry = self.earliest_expiry()
        for event in events:
            self.expire_through(event["event_date"] - ONE_DAY)
            self.apply(event)
        self.expire_through(horizon_date)


# ---- reading state and writing the batch ---------------------------------------------------------------

def _records(session, sql, params=()):
    cursor = session.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _delete_residents_with_changed_lots(session, this, recomputed_since):
    """A late master snapshot (programmes with another expiry rule or funding, or naming a programme not known
    before) changes a lot already replayed. Delete every movement of such a resident from that lot's grant date
    on: the events become "not yet processed" and the resident is replayed from there, so day-by-day builds
    equal a full refresh. Downstream marts rebuild the resident from the same date (delete_recomputed_partitions).
    Only the lots int_point_lots__dated wrote again since recomputed_since (its computed_for_date: every lot after
    a late snapshot, a few on a normal day) can have changed: comparing the year of lots took 0.09 s on day 365
    of bench-history.
    """
    session.execute(f"""
        delete from {this} as stale
        using (
            select lots.municipality_code, lots.mykey_id, min(lots.granted_date) as restart_date
            from fifo_lots as lots
            inner join {this} as created on created.event_id = lots.lot_event_id and created.movement_kind = 'create'
            where lots.computed_for_date >= date '{recomputed_since.isoformat()}'
                and (created.funding is distinct from lots.funding
                     or created.lot_expiry_date is distinct from lots.expiry_date)
            group by all
        ) as changed
        where stale.municipality_code = changed.municipality_code and stale.mykey_id = changed.mykey_id
            and stale.business_date >= changed.restart_date""").fetchall()


def _scope_sql(this, run_date_literal, incremental):
    """Per resident in scope: restart_date (first date to recompute) and horizon_date (last date). Incremental: read
    from the ledger's and the lots' key columns (fifo_ledger, fifo_lots), not from the FIFO input of every event,
    so that only the residents in scope have their events read in full."""
    if not incremental:
        return f"""
            select municipality_code, mykey_id, min(event_date) as restart_date,
                   cast({run_date_literal} as date) as horizon_date
            from fifo_events where event_date <= {run_date_literal} group by all"""
    return f"""
        with done as (select distinct event_id from {this}),
        unprocessed as (
            select municipality_code, mykey_id, min(event_date) as restart_date
            from fifo_ledger
            where event_date <= {run_date_literal} and event_type <> 'expire'
                and event_id not in (select event_id from done)
            group by all),
        built_through as (select coalesce(max(computed_for_date), date '0001-01-01') as day from {this}),
        due as (
            -- a build for D writes every expiry on or before D of every resident (those not yet written put the
            -- resident in scope), so only the expiry dates after the latest build's can be due and unwritten;
            -- a lot whose expiry a late snapshot changed restarts its resident at its grant (unprocessed above)
            select municipality_code, mykey_id, min(expiry_date) as restart_date
            from fifo_lots
            where expiry_date <= {run_date_literal} and expiry_date > (select day from built_through)
                and ('expiry:' || lot_event_id) not in (
                    select event_id from {this}
                    where movement_kind = 'expire' and business_date > (select day from built_through))
            group by all),
        starts as (
            select municipality_code, mykey_id, min(restart_date) as restart_date
            from (select * from unprocessed union all select * from due) group by all),
        last_written as (
            select municipality_code, mykey_id, max(business_date) as last_date
            from {this} where (municipality_code, mykey_id) in (select (municipality_code, mykey_id) from starts)
            group by all)
        select starts.municipality_code, starts.mykey_id, starts.restart_date,
               greatest(cast({run_date_literal} as date), coalesce(last_written.last_date, starts.restart_date))
                   as horizon_date
        from starts left join last_written using (municipality_code, mykey_id)"""


def _stage_state(session, this):
    """Lots and cancellable use allocations of residents in scope, as of the day before their restart date: into
    temp tables (fifo_state_allocations, fifo_state_lots, fifo_state_held) that carry each resident's page, read
    a page at a time (_page_state)."""
    # the uses a cancel in the replay window refers to: their allocations and what they still hold are state
    session.execute("""
        create or replace temp table fifo_cancelled_uses as
        select distinct e.cancel_of as use_event_id
        from fifo_events as e inner join fifo_scope as s using (municipality_code, mykey_id)
        where e.event_type = 'cancel' and e.event_date between s.restart_date and s.horizon_date""")
    session.execute(f"""
        create or replace temp table fifo_state_allocations as
        with before_restart as (
            select t.*, s.page
            from {this} as t inner join fifo_scope as s using (municipality_code, mykey_id)
            where t.business_date < s.restart_date
                and coalesce(t.use_event_id, t.event_id) in (select use_event_id from fifo_cancelled_uses)),
        restored as (
            select use_event_id, lot_event_id, sum(amount_yen) as restored_yen
            from before_restart where movement_kind = 'restore' group by all)
        select c.page, c.municipality_code, c.mykey_id, c.event_id as use_event_id, c.lot_event_id,
               c.allocation_seq, c.amount_yen - coalesce(r.restored_yen, 0) as net_yen
        from before_restart as c
        left join restored as r on r.use_event_id = c.event_id and r.lot_event_id = c.lot_event_id
        where c.movement_kind = 'consume' and c.event_type = 'use'""")
    # State is what the replay can move: a lot with something left, a lot a cancel in the window gives back to (an
    # expired one then lapses at once), and a lot whose expiry falls in the window (its expire row is written
    # even at 0). The rest, most of a resident's lots after a year, cannot move: loading them all made this
    # query grow with history (52,170 lots for 1,212 residents on day 365 of bench-history, against 1,507).
    session.execute(f"""
        create or replace temp table fifo_state_lots as
        with allocated as (select distinct lot_event_id from fifo_state_allocations),
        scoped_lots as (
            select s.page, lots.municipality_code, lots.mykey_id, lots.lot_event_id as event_id, lots.program_code,
                   lots.funding, lots.expiry_date as lot_expiry_date, lots.granted_ts as event_ts, s.restart_date,
                   s.horizon_date
            from fifo_lots as lots inner join fifo_scope as s using (municipality_code, mykey_id)
            where lots.granted_date < s.restart_date
                -- expired before the restart date: an earlier build wrote its expiry (the scope restarts a
                -- resident at the first expiry not yet written), so it is state only if a cancel gives back to it
                and (lots.expiry_date is null or lots.expiry_date >= s.restart_date
                     or lots.lot_event_id in (select lot_event_id from allocated))),
        moved as (
            select t.lot_event_id, sum(t.lot_delta_yen) as remaining_yen,
                   bool_or(t.movement_kind = 'expire') as is_expired
            from {this} as t
            inner join scoped_lots as lots
                on t.lot_event_id = lots.event_id and t.business_date < lots.restart_date
                and t.municipality_code = lots.municipality_code and t.mykey_id = lots.mykey_id
            group by all)
        select lots.* exclude (restart_date, horizon_date), coalesce(moved.remaining_yen, 0) as remaining_yen,
               coalesce(moved.is_expired, false) as is_expired
        from scoped_lots as lots left join moved on moved.lot_event_id = lots.event_id
        where moved.remaining_yen > 0 or lots.lot_expiry_date <= lots.horizon_date
            or lots.event_id in (select lot_event_id from allocated)""")
    # what each of those uses still holds: its own settlement (= its amount) less what earlier cancels took back
    session.execute(f"""
        create or replace temp table fifo_state_held as
        select s.page, t.municipality_code, t.mykey_id, coalesce(t.use_event_id, t.event_id) as use_event_id,
               sum(t.settlement_yen) as held_yen
        from {this} as t inner join fifo_scope as s using (municipality_code, mykey_id)
        where t.business_date < s.restart_date
            and coalesce(t.use_event_id, t.event_id) in (select use_event_id from fifo_cancelled_uses)
            and t.event_type in ('use', 'cancel')
        group by all
        having bool_or(t.event_type = 'use')""")


def _page_state(session, page):
    """The staged state (_stage_state) of one page's residents: (lots, allocations in consumption order, held)."""
    lots = _records(session, "select * exclude (page) from fifo_state_lots where page = ?", [page])
    allocations = _records(session, "select * exclude (page) from fifo_state_allocations where page = ? "
                                    "order by use_event_id, allocation_seq", [page])
    held = _records(session, "select * exclude (page) from fifo_state_held where page = ?", [page])
    return lots, allocations, held


def _replays(lots, allocations, held, computed_for_date):
    replays = {}

    def replay_for(row):
        key = (row["municipality_code"], row["mykey_id"])
        if key not in replays:
            replays[key] = Replay(key[0], key[1], {}, {}, {}, computed_for_date)
        return replays[key]

    for row in lots:
        replay_for(row).lots[row["event_id"]] = Lot(
            row["event_id"], row["program_code"], row["funding"], row["lot_expiry_date"], row["event_ts"],
            int(row["remaining_yen"]), bool(row["is_expired"]))
    for row in allocations:
        replay_for(row).allocations.setdefault(row["use_event_id"], []).append(
            [row["lot_event_id"], int(row["net_yen"])])
    for row in held:
        replay_for(row).held[row["use_event_id"]] = int(row["held_yen"])
    return replays, replay_for


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key=["municipality_code", "mykey_id", "business_date"])
    run_date = dt.date.fromisoformat(str(dbt.config.get("business_date")))
    run_date_literal = f"date '{run_date.isoformat()}'"
    # read once: int_ledger__fifo_input is a view over the whole ledger, and each of the queries below reads it
    # (7 reads cost 4.5 s at day 365 of a small world; one, 0.6 s). Incremental: the residents in scope are found
    # first from the ledger's and the lots' key columns, then only their events are read (a year's history of
    # every resident was read each day: int_lot_movements 1.0 s on day 365 of bench-history against 0.2 on day 2).
    dbt.ref("int_ledger__fifo_input").create_view("fifo_input", replace=True)
    this = str(dbt.this)
    # Residents are replayed a page at a time (page_residents, in (municipality, MyKey ID) order), and each page's
    # movements go into the temp table fifo_out before the next page is read: holding the whole day's events and
    # movements as Python objects made this model the build's peak (2.6 GiB at 1,000,000 residents), growing with
    # the residents in scope.
    page_residents = int(dbt.config.get("page_residents"))

    def paged(scope_sql):
        return f"""
            create or replace temp table fifo_scope as
            select *, (row_number() over (order by municipality_code, mykey_id) - 1) // {page_residents} as page
            from ({scope_sql})"""

    if dbt.is_incremental:
        dbt.ref("stg_platform__ledger").create_view("fifo_ledger", replace=True)
        dbt.ref("int_point_lots__dated").create_view("fifo_lots", replace=True)
        recomputed_since = dt.date.fromisoformat(str(dbt.config.get("recomputed_since")))
        _delete_residents_with_changed_lots(session, this, recomputed_since)
        session.execute(paged(_scope_sql(this, run_date_literal, True)))
        # only the events from the earliest restart date on are replayed or looked up (the lots before it are read
        # from int_point_lots__dated): the date bound keeps the view's joins off a year of history
        session.execute("""
            create or replace temp table fifo_events as
            select * from fifo_input
            where event_date >= (select min(restart_date) from fifo_scope)
                and (municipality_code, mykey_id) in (select (municipality_code, mykey_id) from fifo_scope)""")
    else:
        session.execute("create or replace temp table fifo_events as select * from fifo_input")
        session.execute(paged(_scope_sql(this, run_date_literal, False)))
    if dbt.is_incremental:
        _stage_state(session, this)
    session.execute("""
        create or replace temp table fifo_work as
        select e.*, s.horizon_date, s.page
        from fifo_events as e inner join fifo_scope as s using (municipality_code, mykey_id)
        where e.event_date between s.restart_date and s.horizon_date
        order by s.page""")
    for table in ("fifo_events", "fifo_cancelled_uses"):  # read only by the state and fifo_work, both built
        session.execute(f"drop table if exists {table}")
    session.register("fifo_empty", SCHEMA.empty_table())
    session.execute("create or replace temp table fifo_out as select * from fifo_empty")
    session.unregister("fifo_empty")
    pages = session.execute("select coalesce(max(page) + 1, 0) from fifo_scope").fetchone()[0]
    for page in range(pages):
        _replay_page(session, page, run_date, dbt.is_incremental)
    for table in ("fifo_scope", "fifo_work", "fifo_state_lots", "fifo_state_allocations", "fifo_state_held"):
        session.execute(f"drop table if exists {table}")
    for view in ("fifo_input", "fifo_ledger", "fifo_lots"):  # create_view made them in the warehouse's main schema
        session.execute(f"drop view if exists {view}")
    # a relation on this cursor's temp table: dbt-duckdb materialises it on the same cursor
    return session.sql("select * from fifo_out")


def _replay_page(session, page, run_date, incremental):
    """Replay one page of residents in scope and append their movements to fifo_out."""
    lots, allocations, held = _page_state(session, page) if incremental else ([], [], [])
    replays, replay_for = _replays(lots, allocations, held, run_date)
    del lots, allocations, held
    events = _records(session, """
        select * exclude (page) from fifo_work where page = ?
        order by municipality_code, mykey_id, event_ts, event_id""", [page])
    by_resident = {}
    for event in events:
        by_resident.setdefault((event["municipality_code"], event["mykey_id"]), []).append(event)
    del events
    scope = _records(session, "select * from fifo_scope where page = ? order by municipality_code, mykey_id",
                     [page])
    rows = []
    for resident in scope:
        replay = replay_for(resident)
        replay.run(by_resident.get((resident["municipality_code"], resident["mykey_id"]), []),
                   resident["horizon_date"])
        rows.extend(replay.rows)
    del replays, by_resident
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
    del rows
    batch = pa.table({name: pa.array(list(values), type=kind)
                      for (name, kind), values in zip(COLUMNS, columns, strict=True)}, schema=SCHEMA)
    session.register("fifo_page", batch)
    session.execute("insert into fifo_out select * from fifo_page")
    session.unregister("fifo_page")
