"""The simulated world's cast: municipalities, programmes, partners, merchants, designations, terminals,
residents and fees, built deterministically from a seed, with the master changes that happen during the period.

Everything here is data (frozen dataclasses) plus the questions the day-by-day simulation asks of it ("is
this merchant designated for that municipality on D?", "which terminal key is in force?"). Municipalities are
real ones from the municipality master; banks and branches are real codes from zengin-code; every Zengin
kana name is checked against the field's character class. Names of shops and partners are invented.

This module must never read the clock or any global random state: every choice comes from `random.Random`
instances seeded from the world seed and a purpose label. It holds no key material (only key labels).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import string
from dataclasses import dataclass, field
from pathlib import Path

from contracts import banks
from contracts.codes import is_valid_municipality_code
from contracts.kana import FieldClass, byte_length, to_zengin_kana, with_corporate_form, zengin_char_problems
from contracts.municipalities import MUNICIPALITIES_CSV

DEFAULT_MUNICIPALITIES_CSV = MUNICIPALITIES_CSV
MUNICIPAL_KINDS = ("city", "town", "village", "special_ward")
# Large banks and a few regional ones that exist in zengin-code; paying and merchant accounts live there.
BANK_CHOICES = ("0001", "0005", "0009", "0010", "0017", "0138", "0149", "0158", "0542", "1251")
CARD_KEY_POOL_MAX = 16
PERIOD_BEFORE = dt.date(2025, 4, 1)  # designations and terminals in place before any simulated period
FEE_TABLE = (("same_branch", 0, 29999, 0), ("same_branch", 30000, None, 0),
             ("same_bank", 0, 29999, 220), ("same_bank", 30000, None, 440),
             ("other_bank", 0, 29999, 550), ("other_bank", 30000, None, 770))
COST_RATES = (("ledger_event", "event", "0.3"), ("terminal_record", "record", "0.1"),
              ("payout_transfer", "transfer", "12"), ("bank_statement", "file", "5"))


@dataclass(frozen=True)
class Mix:
    """How a world's merchants and events are spread, apart from how busy its residents are (`activity`).

    stores: one store merchant per `residents_per_store` residents of a municipality, at least 3 and at most
    `stores_cap` (None: no cap) a municipality. sign_up_points: points each resident is granted by the health
    programme on the day they join (one of them, chosen by the day's random stream; empty: none). grants:
    times the daily chance of each programme grant (benefit, activity, health), on top of the activity."""

    name: str
    residents_per_store: int
    stores_cap: int | None
    sign_up_points: tuple[int, ...]
    grants: float


MIXES = {
    # The world as it always was: a few stores a municipality, everyone starting with no points, so terminal
    # uses grow from nothing over the first days (18-26 % of a four-day world's events).
    "typical": Mix("typical", 60, 40, (), 1.0),
    # The national day: 300,000 merchants for 10 million residents (one store per 33, as the nation
    # has), and a programme already under way, its residents holding points from their first day (as the
    # national My Number points programme granted them on sign-up), so that about half the day's events are
    # terminal uses from day 2 on.
    "national": Mix("national", 33, None, (1000, 2000, 3000), 0.3),
}


def checked_mix(name: str) -> Mix:
    """The mix called `name`; ValueError naming the mixes there are otherwise."""
    if name not in MIXES:
        raise ValueError(f"mix is one of {', '.join(MIXES)}, got {name!r}")
    return MIXES[name]


def rng_for(seed: int, purpose: str) -> random.Random:
    """A generator for one purpose: the same seed and label give the same stream on every machine."""
    return random.Random(f"seisan-sim/{seed}/{purpose}")


def party_name(text: str, limit: int = 30) -> str:
    """`text` as a Zengin party name; ValueError when it is not valid or longer than `limit` bytes."""
    kana = to_zengin_kana(text)
    if zengin_char_problems(kana, FieldClass.PARTY_NAME) or byte_length(kana) > limit:
        raise ValueError(f"{text!r} is no Zengin party name of at most {limit} bytes")
    return kana


@dataclass(frozen=True, slots=True)
class Account:
    """A bank account: real bank and branch codes, 預金種目 (1 普通, 2 当座, 4 貯蓄), 7-digit number."""

    bank_code: str
    branch_code: str
    account_type: str
    account_number: str


@dataclass(frozen=True, slots=True)
class Municipality:
    """A municipality using seisan (a row of master/municipalities)."""

    code: str
    name: str
    name_kana: str
    prefecture: str
    settlement_cycle: str
    settlement_day: str
    min_payout_yen: int
    fee_bearer: str
    account: Account
    client_code: str
    client_name_kana: str


@dataclass(frozen=True, slots=True)
class Program:
    """A point programme (a row of master/programs). min_age: benefit only for residents of that age or more."""

    code: str
    municipality_code: str
    name: str
    kind: str
    funding: str
    expiry: str
    annual_cap: int | None
    min_age: int | None = None


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner company or acquirer (a row of master/partners); bank_code: where its transfers come from."""

    code: str
    name: str
    kind: str
    encoding: str
    payer_name_kana: str
    bank_code: str
    points_per_yen: int = 1  # partner points needed for one municipal point


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant (a row of master/merchants). statuses: (from date, status) in date order; listed_from: the
    first snapshot that carries it; partner_code: the online partner selling for an online merchant."""

    merchant_id: str
    name: str
    name_kana: str
    category: str
    channel: str
    account: Account
    account_holder_kana: str
    statuses: tuple[tuple[dt.date, str], ...]
    listed_from: dt.date
    home_municipality: str
    partner_code: str = ""

    def status_on(self, day: dt.date) -> str:
        status = self.statuses[0][1]
        for since, value in self.statuses:
            if since <= day:
                status = value
        return status


@dataclass(frozen=True, slots=True)
class Designation:
    """A designation (加盟店指定): valid_from..valid_to (None = open); listed_from: first snapshot carrying it;
    end_listed_from: first snapshot carrying its valid_to."""

    municipality_code: str
    merchant_id: str
    valid_from: dt.date
    valid_to: dt.date | None
    listed_from: dt.date
    end_listed_from: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class TerminalKey:
    """One key period of a terminal (a row of master/terminals); key_label names its Ed25519 key."""

    terminal_id: str
    merchant_id: str
    key_label: str
    active_from: dt.date
    active_to: dt.date | None
    listed_from: dt.date
    end_listed_from: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        return self.active_from <= day and (self.active_to is None or day <= self.active_to)


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident with a MyKey ID. join_day/reissue_day/revoke_day/rejoin_day are day indexes of the period
    (None = no such event); key_index/new_key_index: card keys from the pool before and after reissue."""

    index: int
    mykey_id: str
    municipalities: tuple[str, ...]
    age: int
    join_day: int
    key_index: int
    new_key_index: int
    reissue_day: int | None
    revoke_day: int | None
    rejoin_day: int | None
    activity: float


@dataclass(frozen=True)
class World:
    """The whole cast of a simulated world, and the master change dates."""

    seed: int
    start: dt.date
    days: int
    municipalities: tuple[Municipality, ...]
    programs: tuple[Program, ...]
    partners: tuple[Partner, ...]
    merchants: tuple[Merchant, ...]
    designations: tuple[Designation, ...]
    terminals: tuple[TerminalKey, ...]
    residents: tuple[Resident, ...]
    card_key_pool: int
    master_changes: dict[str, tuple[dt.date, ...]] = field(default_factory=dict)
    mix: Mix = MIXES["typical"]
    _by_id: dict[str, dict] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Look-ups by key: a national world has 300,000 merchants and terminals and thousands of programs, and
        # the platform asks these questions for every event of every day.
        designations: dict[tuple[str, str], list[Designation]] = {}
        municipalities_of: dict[str, list[str]] = {}
        for d in self.designations:
            if (d.municipality_code, d.merchant_id) not in designations:
                municipalities_of.setdefault(d.merchant_id, []).append(d.municipality_code)
            designations.setdefault((d.municipality_code, d.merchant_id), []).append(d)
        programs: dict[str, dict[str, Program]] = {}
        for p in self.programs:
            programs.setdefault(p.municipality_code, {})[p.kind] = p
        keys: dict[str, list[TerminalKey]] = {}
        for key in self.terminals:
            keys.setdefault(key.terminal_id, []).append(key)
        object.__setattr__(self, "_by_id", {
            "merchant": {m.merchant_id: m for m in self.merchants},
            "partner": {p.code: p for p in self.partners},
            "municipality": {m.code: m for m in self.municipalities},
            "designations": designations,
            "designating": municipalities_of,
            "programs": programs,
            "terminal_keys": keys,
        })

    def date(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=index)

    @property
    def end(self) -> dt.date:
        return self.date(self.days - 1)

    def merchant(self, merchant_id: str) -> Merchant:
        return self._by_id["merchant"][merchant_id]

    def partner(self, code: str) -> Partner:
        return self._by_id["partner"][code]

    def municipality(self, code: str) -> Municipality:
        return self._by_id["municipality"][code]

    def programs_of(self, municipality_code: str) -> dict[str, Program]:
        return dict(self._by_id["programs"].get(municipality_code, {}))

    def designated(self, municipality_code: str, merchant_id: str, day: dt.date) -> bool:
        return any(d.valid_on(day) for d in self._by_id["designations"].get((municipality_code, merchant_id), ()))

    def designating(self, merchant_id: str, day: dt.date) -> list[str]:
        """The municipalities that designate `merchant_id` on `day`, in the order of their first designation."""
        return [code for code in self._by_id["designating"].get(merchant_id, ())
                if self.designated(code, merchant_id, day)]

    def terminal_key_on(self, terminal_id: str, day: dt.date) -> TerminalKey | None:
        for key in self._by_id["terminal_keys"].get(terminal_id, ()):
            if key.active_on(day):
                return key
        return None


# --- municipalities ---------------------------------------------------------------------------------------
def load_municipality_rows(path: Path | None = None) -> list[dict[str, str]]:
    """Rows of the municipality master that can run a points programme (city, town, village, special ward)."""
    if path is None:
        path = DEFAULT_MUNICIPALITIES_CSV
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["kind"] in MUNICIPAL_KINDS]
    return [row for row in rows if is_valid_municipality_code(row["municipality_code"])]


def _account(rng: random.Random, bank_code: str | None = None, type_weights: str = "1111124") -> Account:
    bank = bank_code or rng.choice(BANK_CHOICES)
    branch = rng.choice(banks.branch_codes(bank))
    return Account(bank, branch, rng.choice(type_weights), f"{rng.randrange(1, 10_000_000):07d}")


def _bank_name_ok(bank: str, branch: str) -> bool:
    names = (banks.bank_name_kana(bank), banks.branch_name_kana(bank, branch))
    return all(not zengin_char_problems(n, FieldClass.BANK_NAME) for n in names)


def build_municipalities(rng: random.Random, count: int, rows: list[dict[str, str]]) -> tuple[Municipality, ...]:
    usable = []
    for row in rows:
        try:
            usable.append((row, party_name(row["name_kana"], 40)))
        except ValueError:
            continue
    chosen = sorted(rng.sample(usable, count), key=lambda item: item[0]["municipality_code"])
    cycles = [("daily", ""), ("weekly", str(rng.randint(1, 7))), ("monthly", str(rng.randint(1, 28))),
              ("monthly", "end")]
    result = []
    for i, (row, kana) in enumerate(chosen):
        cycle, day = cycles[i] if i < len(cycles) else rng.choice(cycles)
        account = _account(rng, type_weights="12")
        while not _bank_name_ok(account.bank_code, account.branch_code):
            account = _account(rng, type_weights="12")
        result.append(Municipality(
            code=row["municipality_code"], name=row["name"], name_kana=kana, prefecture=row["prefecture"],
            settlement_cycle=cycle, settlement_day=day, min_payout_yen=rng.choice((0, 1000, 3000, 5000)),
            fee_bearer=("payer", "payee")[i % 2], account=account,
            client_code=f"{rng.randrange(10**9, 10**10)}", client_name_kana=kana))
    return tuple(result)


def build_programs(rng: random.Random, municipalities: tuple[Municipality, ...]) -> tuple[Program, ...]:
    programs = []
    for m in municipalities:
        programs += [
            Program(f"{m.code}-BEN", m.code, f"{m.name}おでかけ応援ポイント", "benefit", "municipal_budget",
                    "fiscal_year_end:0", 2000, min_age=65),
            Program(f"{m.code}-ACT", m.code, f"{m.name}ボランティアポイント", "activity", "municipal_budget",
                    f"days:{rng.choice((3, 4, 5))}", None),
            Program(f"{m.code}-HLT", m.code, f"{m.name}健康ポイント", "health", "municipal_budget",
                    "fiscal_year_end:1", 5000),
            Program(f"{m.code}-CNV", m.code, f"{m.name}地域経済応援ポイント", "conversion", "partner",
                    "days:180", None),
            Program(f"{m.code}-PRE", m.code, f"{m.name}チャージポイント", "prepaid", "prepaid", "none", None),
        ]
    return tuple(programs)


# --- partners ---------------------------------------------------------------------------------------------
_PARTNERS = (  # code, name, kind, encoding, kana, entity form, position, partner points per municipal point
    ("SAKURACARD", "さくらカード株式会社", "credit_card", "cp932", "サクラカード", "株式会社", "start", 5),
    ("AOZORAAIR", "あおぞら航空株式会社", "airline", "utf-8", "アオゾラコウクウ", "株式会社", "end", 1),
    ("MIDORIMART", "みどりマート有限会社", "retail", "cp932", "ミドリマート", "有限会社", "end", 1),
    ("HIKARIBK", "ひかり銀行株式会社", "bank", "utf-8", "ヒカリギンコウ", "株式会社", "start", 2),
    ("KANSEIDEN", "関西電力サービス株式会社", "utility", "cp932", "カンセイデンリヨク", "株式会社", "start", 1),
    ("TSUBASATEL", "つばさテレコム合同会社", "telecom", "utf-8", "ツバサテレコム", "合同会社", "start", 1),
    ("FURUMALL", "ふるさとモール株式会社", "online_mall", "utf-8", "フルサトモ-ル", "株式会社", "start", 1),
    ("MIRAIFUND", "みらいファンド株式会社", "crowdfunding", "cp932", "ミライフアンド", "株式会社", "end", 1),
    ("KESSAIPAY", "けっさいペイメント株式会社", "acquirer", "utf-8", "ケツサイペイメント", "株式会社", "start", 1),
)
CONVERSION_KINDS = ("credit_card", "airline", "retail", "bank", "utility", "telecom")
SALES_KINDS = ("online_mall", "crowdfunding")


def build_partners(rng: random.Random) -> tuple[Partner, ...]:
    return tuple(Partner(code, name, kind, encoding, with_corporate_form(kana, form, position),
                         rng.choice(BANK_CHOICES), ratio)
                 for code, name, kind, encoding, kana, form, position, ratio in _PARTNERS)


# --- merchants --------------------------------------------------------------------------------------------
_PREFIXES = (("さくら", "サクラ"), ("みどり", "ミドリ"), ("ひかり", "ヒカリ"), ("あおば", "アオバ"),
             ("やまと", "ヤマト"), ("こもれび", "コモレビ"), ("いろは", "イロハ"), ("まるやま", "マルヤマ"),
             ("たかせ", "タカセ"), ("ふじみ", "フジミ"), ("かがやき", "カガヤキ"), ("すずらん", "スズラン"))
_SHOP_KINDS = (("商店", "シヨウテン", "食料品"), ("食堂", "シヨクドウ", "飲食"), ("書店", "シヨテン", "書籍"),
               ("薬局", "ヤツキヨク", "医薬品"), ("青果", "セイカ", "食料品"), ("酒店", "サケテン", "酒類"),
               ("電器", "デンキ", "家電"), ("理容室", "リヨウシツ", "理美容"), ("ベーカリー", "ベ-カリ-", "飲食"),
               ("タクシー", "タクシ-", "交通"), ("旅館", "リヨカン", "宿泊"), ("鮮魚店", "センギヨテン", "食料品"))
_FORMS = (("株式会社", "start"), ("株式会社", "end"), ("有限会社", "end"), ("合同会社", "start"),
          ("医療法人", "start"), (None, None))
_SURNAMES = ("ヤマダ", "サトウ", "スズキ", "タカハシ", "タナカ", "ワタナベ", "イトウ", "ナカムラ")
_GIVEN = ("タロウ", "ハナコ", "イチロウ", "ヨシコ", "ケンジ", "ミドリ")


def _merchant_names(rng: random.Random, channel: str) -> tuple[str, str, str, str]:
    """(name, name_kana, category, account_holder_kana) of a new merchant."""
    if channel == "online":
        prefix, prefix_kana = rng.choice(_PREFIXES)
        return (f"{prefix}物産オンライン", party_name(f"{prefix_kana}ブツサンオンライン"), "通信販売",
                with_corporate_form(f"{prefix_kana}ブツサン", "株式会社", "start"))
    if channel == "exchange":
        prefix, prefix_kana = rng.choice(_PREFIXES)
        return (f"{prefix}商店街振興組合 商品券交換所", party_name(f"{prefix_kana}シヨウテンガイ"), "商品券交換",
                party_name(f"{prefix_kana}シヨウテンガイシンコウクミアイ"))
    prefix, prefix_kana = rng.choice(_PREFIXES)
    shop, shop_kana, category = rng.choice(_SHOP_KINDS)
    form, position = rng.choice(_FORMS)
    kana = party_name(prefix_kana + shop_kana)
    if form is None:
        holder = party_name(f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}")
        return f"{prefix}{shop}", kana, category, holder
    if form == "医療法人":
        return (f"医療法人{prefix}会 {prefix}{shop}", kana, "医療",
                with_corporate_form(f"{prefix_kana}カイ", form, "start"))
    name = f"{form}{prefix}{shop}" if position == "start" else f"{prefix}{shop}{form}"
    return name, kana, category, with_corporate_form(prefix_kana + shop_kana, form, position)


def _merchant(rng: random.Random, number: int, channel: str, home: str, listed_from: dt.date,
              partner_code: str = "") -> Merchant:
    name, kana, category, holder = _merchant_names(rng, channel)
    return Merchant(f"M{number:08d}", name, kana, category, channel, _account(rng), holder,
                    ((listed_from, "active"),), listed_from, home, partner_code)


@dataclass(frozen=True, slots=True)
class _Changes:
    new_merchant_day: int | None
    designation_end_day: int | None
    suspend_day: int | None
    close_day: int | None
    rotation_day: int | None


def _change_days(rng: random.Random, days: int) -> _Changes:
    if days < 2:
        return _Changes(None, None, None, None, None)
    pick = lambda: rng.randint(1, days - 1)  # noqa: E731 - a tiny local helper
    return _Changes(pick(), pick(), pick(), pick(), pick())


def build_merchants(rng: random.Random, world_start: dt.date, municipalities: tuple[Municipality, ...],
                    residents: int, changes: _Changes, day_of, mix: Mix = MIXES["typical"],
                    ) -> tuple[tuple[Merchant, ...], tuple[Designation, ...]]:
    """Store merchants per municipality (as many as `mix` says), an exchange per municipality, online merchants
    for the two online partners; designations for them; one merchant added mid-period, one designation ended,
    one merchant suspended and one closed (when the period is long enough)."""
    base = 10_000_000 + rng.randrange(0, 80_000_000)
    merchants: list[Merchant] = []
    designations: list[Designation] = []
    stores = max(3, residents // (mix.residents_per_store * max(1, len(municipalities))))
    stores = stores if mix.stores_cap is None else min(mix.stores_cap, stores)
    for m in municipalities:
        for _ in range(stores):
            merchants.append(_merchant(rng, base + len(merchants), "store", m.code, PERIOD_BEFORE))
        merchants.append(_merchant(rng, base + len(merchants), "exchange", m.code, PERIOD_BEFORE))
    for partner_code in ("FURUMALL", "MIRAIFUND"):
        merchants.append(_merchant(rng, base + len(merchants), "online", "", PERIOD_BEFORE, partner_code))
    for merchant in merchants:
        targets = [m.code for m in municipalities] if merchant.channel == "online" else [merchant.home_municipality]
        designations += [Designation(code, merchant.merchant_id, PERIOD_BEFORE, None, PERIOD_BEFORE)
                         for code in targets]
    if changes.new_merchant_day is not None:
        day = day_of(changes.new_merchant_day)
        new = _merchant(rng, base + len(merchants), "store", municipalities[0].code, day)
        merchants.append(new)
        designations.append(Designation(new.home_municipality, new.merchant_id, day, None, day))
    merchants, designations = _apply_status_changes(rng, merchants, designations, changes, day_of)
    return tuple(merchants), tuple(designations)


def _apply_status_changes(rng: random.Random, merchants: list[Merchant], designations: list[Designation],
                          changes: _Changes, day_of) -> tuple[list[Merchant], list[Designation]]:
    stores = [i for i, m in enumerate(merchants) if m.channel == "store" and m.listed_from == PERIOD_BEFORE]
    if changes.designation_end_day is not None and len(stores) > 3:
        target = merchants[stores[0]].merchant_id
        day = day_of(changes.designation_end_day)
        designations = [Designation(d.municipality_code, d.merchant_id, d.valid_from, day, d.listed_from, day)
                        if d.merchant_id == target else d for d in designations]
    for change_day, status, position in ((changes.suspend_day, "suspended", 1), (changes.close_day, "closed", 2)):
        if change_day is None or len(stores) <= 3:
            continue
        i = stores[position]
        m = merchants[i]
        merchants[i] = Merchant(m.merchant_id, m.name, m.name_kana, m.category, m.channel, m.account,
                                m.account_holder_kana, m.statuses + ((day_of(change_day), status),),
                                m.listed_from, m.home_municipality, m.partner_code)
    return merchants, designations


def build_terminals(rng: random.Random, seed: int, merchants: tuple[Merchant, ...], changes: _Changes,
                    day_of) -> tuple[TerminalKey, ...]:
    keys: list[TerminalKey] = []
    number = 10_000_000 + rng.randrange(0, 80_000_000)
    for merchant in merchants:
        if merchant.channel != "store":
            continue
        for _ in range(1 if rng.random() < 0.7 else 2):
            tid = f"T{number:08d}"
            number += 1
            label = f"seed={seed}/terminal/{tid}"
            rotate = changes.rotation_day is not None and rng.random() < 0.15
            if rotate and day_of(changes.rotation_day) > merchant.listed_from:
                day = day_of(changes.rotation_day)
                keys.append(TerminalKey(tid, merchant.merchant_id, label, merchant.listed_from,
                                        day - dt.timedelta(days=1), merchant.listed_from, day))
                keys.append(TerminalKey(tid, merchant.merchant_id, label + "/rotated-1", day, None, day))
            else:
                keys.append(TerminalKey(tid, merchant.merchant_id, label, merchant.listed_from, None,
                                        merchant.listed_from))
    return tuple(keys)


# --- residents --------------------------------------------------------------------------------------------
_ID_CHARS = string.ascii_uppercase + string.digits


def build_residents(rng: random.Random, count: int, days: int, municipalities: tuple[Municipality, ...],
                    pool: int, activity: float = 1.0) -> tuple[Resident, ...]:
    """The residents; `activity` scales how busy each is (the chance of each thing they may do in a day), so
    that a world of many residents can have the nation's events per resident. At 1.0, the world as before."""
    seen: set[str] = set()
    residents = []
    codes = [m.code for m in municipalities]
    for i in range(count):
        while True:
            mykey = rng.choice(string.ascii_uppercase) + "".join(rng.choice(_ID_CHARS) for _ in range(9))
            if mykey not in seen:
                seen.add(mykey)
                break
        home = codes[i % len(codes)]
        places = (home,)
        if len(codes) > 1 and rng.random() < 0.1:
            places = (home, rng.choice([c for c in codes if c != home]))
        join = 0 if days < 2 or rng.random() < 0.92 else rng.randint(1, days - 1)
        reissue = revoke = rejoin = None
        roll = rng.random()
        if days - join >= 2 and roll < 0.04:
            reissue = rng.randint(join + 1, days - 1)
        elif days - join >= 2 and roll < 0.06:
            revoke = rng.randint(join + 1, days - 1)
            rejoin = revoke + 2 if revoke + 2 < days else None
        age = rng.choice((rng.randint(18, 64), rng.randint(65, 95)))
        residents.append(Resident(i, mykey, places, age, join, i % pool, (i + 7) % pool, reissue, revoke, rejoin,
                                  rng.choice((0.5, 1.0, 1.0, 1.5, 2.0)) * activity))
    return tuple(residents)


def checked_activity(value: float) -> float:
    """`value` when it can be the residents' activity (more than 0, at most 1); ValueError otherwise."""
    if not 0 < value <= 1:
        raise ValueError(f"activity is more than 0 and at most 1, got {value}")
    return value


def build_world(seed: int, start: dt.date, days: int, municipalities: int, residents: int,
                municipalities_csv: Path | None = None, activity: float = 1.0, mix: str = "typical") -> World:
    """The cast of a world: same arguments, same world. activity: see build_residents; mix: a name of MIXES."""
    checked_activity(activity)
    spread = checked_mix(mix)
    day_of = lambda index: start + dt.timedelta(days=index)  # noqa: E731
    rows = load_municipality_rows(municipalities_csv)
    munis = build_municipalities(rng_for(seed, "municipalities"), municipalities, rows)
    programs = build_programs(rng_for(seed, "programs"), munis)
    partners = build_partners(rng_for(seed, "partners"))
    changes = _change_days(rng_for(seed, "changes"), days)
    merchants, designations = build_merchants(rng_for(seed, "merchants"), start, munis, residents, changes, day_of,
                                            spread)
    terminals = build_terminals(rng_for(seed, "terminals"), seed, merchants, changes, day_of)
    pool = max(2, min(CARD_KEY_POOL_MAX, residents // 150))
    people = build_residents(rng_for(seed, "residents"), residents, days, munis, pool, activity)
    master_changes = {
        "merchants": tuple(sorted({start} | {since for m in merchants for since, _ in m.statuses if since > start}
                                  | {m.listed_from for m in merchants if m.listed_from > start})),
        "designations": tuple(sorted({start} | {d.listed_from for d in designations if d.listed_from > start}
                                     | {d.end_listed_from for d in designations
                                        if d.end_listed_from and d.end_listed_from > start})),
        "terminals": tuple(sorted({start} | {t.listed_from for t in terminals if t.listed_from > start}
                                  | {t.end_listed_from for t in terminals
                                     if t.end_listed_from and t.end_listed_from > start})),
    }
    for name in ("municipalities", "programs", "partners", "fee_schedule", "cost_rates"):
        master_changes[name] = (start,)
    return World(seed, start, days, munis, programs, partners, merchants, designations, terminals, people, pool,
                 master_changes, spread)
