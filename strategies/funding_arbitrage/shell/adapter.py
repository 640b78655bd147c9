"""Hummingbot connectors -> frozen snapshots (the only core-facing module that imports hummingbot).

Staleness: Hummingbot exposes no receive time for books or funding, so the builder remembers when each
market's top of book and funding last *changed* and stamps that as `observed_ts`. A funding snapshot whose
`next_funding_ts` lies in the past (the venue did not roll it after the settlement) keeps its old stamp too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, Mapping, Optional

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType

from ..core.config import FundingArbSettings
from ..core.snapshots import (
    BookSnapshot,
    FeeSchedule,
    FundingSnapshot,
    MarketKind,
    MarketRules,
    MarketSnapshot,
    PositionSnapshot,
    TickSnapshot,
    new_funding_snapshot,
    new_market_snapshot,
)
from ..core.venues import is_perp_connector, venue_spec

log = logging.getLogger(__name__)
BOOK_LEVELS = 20
FEE_REFRESH_S = 3600.0  # fee schedules change rarely (tier updates); re-read them hourly, not every tick


class _Market:
    """One configured (connector, token) market: its names, computed once per settings, and what the builder
    remembers of it between ticks (one attribute read per item instead of a dict lookup on a tuple key)."""

    __slots__ = (
        "book_fp",
        "book_obs",
        "fees",
        "fees_ts",
        "funding",
        "funding_fp",
        "funding_obs",
        "kind",
        "leverage",
        "name",
        "pair",
        "perp",
        "quote",
        "rule",
        "rule_raw",
        "rules",
        "token",
    )

    def __init__(self, settings: FundingArbSettings, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.pair = settings.trading_pair(name, token)
        self.perp = is_perp_connector(name)
        self.kind = MarketKind.PERP if self.perp else MarketKind.SPOT
        self.quote = settings.quote_assets[name]
        self.leverage = Decimal(settings.leverage.get(name, 1))
        self.book_fp: Any = None  # the top of book and book version last seen, and when they last changed
        self.book_obs = 0.0
        self.funding_fp: Any = None  # (rate, next funding ts, mark) last seen, and when they last changed
        self.funding_obs = 0.0
        self.funding: FundingSnapshot | None = None  # the last funding snapshot built (reused while unchanged)
        self.fees: FeeSchedule | None = None  # the fee schedule and when it was read
        self.fees_ts = 0.0
        self.rule: Any = None  # the connector's TradingRule object, its raw fields, and the rules made of them
        self.rule_raw: tuple[Any, ...] = (None, None, None, None)
        self.rules: MarketRules | None = None


class SnapshotBuilder:
    """Copies connector state into a TickSnapshot once per tick; remembers when data last changed."""

    def __init__(self, settings: FundingArbSettings) -> None:
        self._settings = settings
        self.errors: dict[str, int] = {}
        # per connector, in the order of the snapshot: its markets (one per token)
        self._plan = tuple(
            (name, tuple(_Market(settings, name, token) for token in settings.tokens))
            for name in settings.all_connectors
        )

    @staticmethod
    def _rules_of(rules_by_pair: Any, m: _Market) -> Optional[MarketRules]:
        """The market's rules from the connector's `trading_rules`, reused while it keeps the very same rule object
        and field values (rules are static between the venue's rule refreshes, which replace the objects)."""
        rule = rules_by_pair.get(m.pair)
        if rule is None:
            return None
        raw = m.rule_raw
        if (
            rule is m.rule
            and rule.min_order_size is raw[0]
            and rule.min_base_amount_increment is raw[1]
            and rule.min_price_increment is raw[2]
            and rule.min_notional_size is raw[3]
        ):
            return m.rules
        raw = (rule.min_order_size, rule.min_base_amount_increment, rule.min_price_increment, rule.min_notional_size)
        m.rules = rules = _rules(rule)
        m.rule, m.rule_raw = rule, raw
        return rules

    def build(self, ts: float, connectors: Mapping[str, Any]) -> TickSnapshot:
        markets: list[MarketSnapshot] = []
        append = markets.append
        market = self._market
        for connector_name, planned in self._plan:
            connector = connectors.get(connector_name)
            if connector is None:
                continue
            try:  # once per connector (a property on Hummingbot's connectors), not once per market
                rules_by_pair = getattr(connector, "trading_rules", {})
            except Exception:  # each market reads it again, and counts its failure
                rules_by_pair = None
            for m in planned:
                snap = market(ts, connector, rules_by_pair, m)
                if snap is not None:
                    append(snap)
        return TickSnapshot(
            ts=ts,
            markets=tuple(markets),
            positions=tuple(self._positions(connectors)),
            balances_quote=self._balances(connectors),
            ready={name: bool(getattr(c, "ready", False)) for name, c in connectors.items()},
        )

    def _count(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1

    def _market(self, ts: float, connector: Any, rules_by_pair: Any, m: _Market) -> Optional[MarketSnapshot]:
        try:
            if rules_by_pair is None:
                rules_by_pair = getattr(connector, "trading_rules", {})
            rules = self._rules_of(rules_by_pair, m)
            if rules is None:
                self._count("no_trading_rule")
                return None
            book = self._book(ts, connector, m)
            funding = self._funding(ts, connector, m) if m.perp else None
            fees = m.fees
            if fees is None or ts - m.fees_ts >= FEE_REFRESH_S:
                fees = m.fees = _fees(connector, m.name, m.token, m.quote, m.kind, book)
                m.fees_ts = ts
        except Exception as e:  # a venue returned something we cannot read: skip the market, keep ticking
            self._count("adapter_error")
            log.warning("market=%s/%s skipped: adapter could not read connector state: %r", m.name, m.pair, e)
            return None
        return new_market_snapshot(m.name, m.token, m.pair, m.kind, book, funding, fees, rules, m.leverage)

    def _book(self, ts: float, connector: Any, m: _Market) -> Optional[BookSnapshot]:
        try:
            ob = connector.get_order_book(m.pair)
        except (KeyError, ValueError):
            return None
        guard = (getattr(ob, "snapshot_uid", None), getattr(ob, "last_diff_uid", None))  # the book's version
        bid, ask = _touch(ob)
        fingerprint = (bid, ask, guard)
        if m.book_fp != fingerprint:
            m.book_obs = ts
        m.book_fp = fingerprint
        snap = _new(LiveBookSnapshot)
        d = snap.__dict__  # BookSnapshot is frozen: its fields are written as its __init__ would, the sides made lazily
        d["connector"], d["trading_pair"], d["observed_ts"] = m.name, m.pair, m.book_obs
        d["_book"], d["_guard"], d["_bid_row"], d["_ask_row"] = ob, guard, bid, ask
        # = bids[0][0], asks[0][0]: the core reads every touch. `_decimal`'s memo asked here first (saves a call)
        best_bid = best_ask = None
        if bid is not None:
            best_bid = _DECIMALS.get(bid[0]) if type(bid[0]) is float else None
            best_bid = _decimal(bid[0]) if best_bid is None else best_bid
        if ask is not None:
            best_ask = _DECIMALS.get(ask[0]) if type(ask[0]) is float else None
            best_ask = _decimal(ask[0]) if best_ask is None else best_ask
        d["best_bid"], d["best_ask"] = best_bid, best_ask
        return snap

    def _funding(self, ts: float, connector: Any, m: _Market) -> Optional[FundingSnapshot]:
        try:
            info = connector.get_funding_info(m.pair)
        except KeyError:
            return None
        next_ts = int(info.next_funding_utc_timestamp)
        rate, mark = info.rate, info.mark_price
        fingerprint = (rate, next_ts, mark)
        if m.funding_fp is None or (m.funding_fp != fingerprint and next_ts >= ts):  # changed (and rolled)
            m.funding_obs = ts
        m.funding_fp = fingerprint
        index, observed, last = info.index_price, m.funding_obs, m.funding
        if (  # nothing the snapshot holds changed: the same (immutable) snapshot
            last is not None
            and last.rate is rate
            and last.mark_price is mark
            and last.index_price is index
            and last.next_funding_ts == next_ts
            and last.observed_ts == observed
        ):
            return last
        m.funding = snap = new_funding_snapshot(m.name, m.pair, _dec(rate), next_ts, _dec(mark), _dec(index), observed)
        return snap

    def _positions(self, connectors: Mapping[str, Any]) -> list[PositionSnapshot]:
        out = []
        for name in self._settings.perp_connectors:
            connector = connectors.get(name)
            if connector is None:
                continue
            try:
                positions = dict(connector.account_positions)
            except Exception as e:
                self._count("positions_unreadable")
                log.warning("connector=%s positions unreadable: %r", name, e)
                continue
            for p in positions.values():
                out.append(
                    PositionSnapshot(
                        name,
                        p.trading_pair,
                        Decimal(p.amount),
                        Decimal(p.entry_price),
                        Decimal(p.unrealized_pnl),
                        Decimal(p.leverage),
                    )
                )
        return out

    def _balances(self, connectors: Mapping[str, Any]) -> dict[str, Decimal]:
        out = {}
        for name in self._settings.all_connectors:
            connector = connectors.get(name)
            if connector is None:
                continue
            try:
                out[name] = Decimal(connector.get_balance(self._settings.quote_assets[name]))
            except Exception as e:
                self._count("balance_unreadable")
                log.warning("connector=%s balance unreadable: %r", name, e)
        return out


class LiveBookSnapshot(BookSnapshot):
    """A `BookSnapshot` of a live Hummingbot book, built by `SnapshotBuilder`: `best_bid` and `best_ask` are stored
    when the snapshot is built (the core reads every market's touch every tick), and each side (`bids`, `asks`: a
    `BookLevels`, as its tuple) is made on its first read, from the touch read at build and the book's version then
    (the core reads the sides of only the few books it prices). Equal to, and read like, the BookSnapshot of the same
    levels; deeper reads after the book changed raise `StaleBookError`, as `BookLevels` does.
    """

    @property
    def bids(self) -> BookLevels:  # type: ignore[override]  # read-only, as every field of the frozen snapshot
        d = self.__dict__
        side = d.get("_bids")
        if side is None:
            side = d["_bids"] = _side(d["_book"], True, d["_guard"], d["_bid_row"])
        return side

    @property
    def asks(self) -> BookLevels:  # type: ignore[override]
        d = self.__dict__
        side = d.get("_asks")
        if side is None:
            side = d["_asks"] = _side(d["_book"], False, d["_guard"], d["_ask_row"])
        return side


class StaleBookError(RuntimeError):
    """Levels below the top were asked for after the venue's book changed (they are read within the tick only)."""


class BookLevels(Sequence[tuple[Decimal, Decimal]]):
    """One side of a book, as the tuple of (price, amount) Decimals it stands for, read from the live Hummingbot
    book only as far as it is used.

    Why: Hummingbot's `bid_entries()` builds a Python row object per level (~1 µs each); reading 20 levels of
    15 books every tick was half of a replay's time, while the core reads every market's top level but walks
    deeper levels only for the few pairs it prices. The top row is read (and typed) when the snapshot is built;
    the rest on first use. Within a tick a book cannot change (the clock ticks the strategy synchronously; the
    order book tracker updates books between ticks), so deferred reads see the book as it was at the snapshot.
    A deferred read checks that (same book version: `snapshot_uid`, `last_diff_uid`, same top row) and raises
    `StaleBookError` otherwise, never returning other data. Levels are exact: `Decimal(repr(x))` of each float.
    """

    __slots__ = ("_all", "_bids", "_book", "_done", "_guard", "_rows", "_top", "_top_row")
    _all: tuple[tuple[Decimal, Decimal], ...] | None  # every level as Decimals, once read
    _bids: bool
    _book: Any  # the live book until its levels are read (None after, or for an empty side)
    _done: list[tuple[Decimal, Decimal]]  # the levels converted so far, in order (set with `_rows`)
    _guard: tuple[Any, Any]  # the book's (snapshot_uid, last_diff_uid) when the snapshot was built
    _rows: list[tuple[float, float]] | None  # every level as read (floats), on first deep use
    _top: tuple[Decimal, Decimal] | None  # the best level as Decimals, once read
    _top_row: tuple[float, float] | None  # the best level as read (floats); None for an empty side

    def __init__(self, book: Any, bids: bool, guard: tuple[Any, Any] | None = None) -> None:
        """`guard`: the book's (snapshot_uid, last_diff_uid) if the caller has just read them (else read here)."""
        if guard is None:
            guard = (getattr(book, "snapshot_uid", None), getattr(book, "last_diff_uid", None))
        _init_side(self, book, bids, guard, _read_top(book, bids))

    def top_row(self) -> tuple[float, float] | None:
        """The best level as read (floats), without converting anything; None for an empty side."""
        return self._top_row

    def _deep_rows(self) -> list[tuple[float, float]]:
        """Every row (up to BOOK_LEVELS) of the live book, read once, on first use below the top.

        Raises:
            StaleBookError: the book changed since the snapshot and the levels were not read before.
        """
        if self._rows is None:
            book = self._book
            guard = (getattr(book, "snapshot_uid", None), getattr(book, "last_diff_uid", None))
            rows = _read_rows(book, self._bids, BOOK_LEVELS)
            if guard != self._guard or not rows or rows[0] != self._top_row:
                raise StaleBookError(
                    f"order book changed since the snapshot (version {self._guard} -> {guard}): "
                    "levels below the top are read within the tick only"
                )
            self._rows, self._done = rows, []
            self._book = None  # read once; keep no reference to the live book
        return self._rows

    def levels(self) -> tuple[tuple[Decimal, Decimal], ...]:
        """Every level (up to BOOK_LEVELS) as Decimals.

        Raises:
            StaleBookError: the book changed since the snapshot and the levels were not read before.
        """
        if self._all is None:
            rows, done = self._deep_rows(), self._done
            done.extend((_decimal(p), _decimal(a)) for p, a in rows[len(done) :])
            self._all = tuple(done)
        return self._all

    def _lazy(self, rows: list[tuple[float, float]]) -> Iterator[tuple[Decimal, Decimal]]:
        """The levels in order, converting each on first use: a walk that stops after a few levels (the usual
        case) converts only those. Conversions are shared with `levels()` and other iterations."""
        done = self._done
        for i, (price, amount) in enumerate(rows):
            if i == len(done):
                done.append((_decimal(price), _decimal(amount)))
            yield done[i]

    def __bool__(self) -> bool:
        return self._top_row is not None

    def __len__(self) -> int:
        return len(self.levels())

    def __getitem__(self, index: Any) -> Any:
        if index == 0:  # the top, converted once (a slice never equals 0)
            top = self._top
            if top is None:
                if self._top_row is None:
                    return self.levels()[index]  # an empty side: IndexError, as a tuple
                price, amount = self._top_row
                top = self._top = (_decimal(price), _decimal(amount))
            return top
        return self.levels()[index]

    def __iter__(self) -> Iterator[tuple[Decimal, Decimal]]:
        if self._all is not None:
            return iter(self._all)
        return self._lazy(self._deep_rows())  # reads (and checks) the book now, converts as the caller goes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BookLevels):
            return self.levels() == other.levels()
        return isinstance(other, tuple) and self.levels() == other

    def __hash__(self) -> int:
        return hash(self.levels())

    def __repr__(self) -> str:
        return repr(self.levels())


_new = object.__new__


def _init_side(
    side: BookLevels, book: Any, bids: bool, guard: tuple[Any, Any], top: tuple[float, float] | None
) -> BookLevels:
    """Set up `side` as one side of `book` (version `guard`) whose best row, already read and checked, is `top`."""
    side._bids = bids
    side._guard = guard
    side._top_row = top
    side._top = None
    side._rows = None  # `_done` is set with `_rows`, on first deep use
    if top is None:
        side._all = ()
        side._book = None
    else:
        side._all = None
        side._book = book
    return side


def _side(book: Any, bids: bool, guard: tuple[Any, Any], top: tuple[float, float] | None) -> BookLevels:
    """`BookLevels(book, bids, guard)` for a top row the caller has read and checked already."""
    return _init_side(_new(BookLevels), book, bids, guard, top)


# book type -> its `touch` method, or None where the type has none (Hummingbot's own books)
_TOUCH_READERS: dict[type, Callable[[Any], Optional[tuple[Any, Any, Any, Any]]] | None] = {}


def _touch(book: Any) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The best (price, amount) rows of a Hummingbot book's bids and asks (None for an empty side): the first rows
    of `bid_entries()` and `ask_entries()`.

    A book type may answer this in one call without building Hummingbot's row objects: a `touch()` method returning
    (best bid price, its amount, best ask price, its amount), exactly those rows' values, or None where it cannot
    cheaply (then the rows are read).

    Raises:
        TypeError: a price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    kind = type(book)
    try:
        reader = _TOUCH_READERS[kind]
    except KeyError:
        reader = _TOUCH_READERS[kind] = getattr(kind, "touch", None)
    touch = reader(book) if reader is not None else None
    if touch is None:
        return _read_top(book, True), _read_top(book, False)
    bid_price, bid_amount, ask_price, ask_amount = touch
    if (
        type(bid_price) not in _NUMBER_TYPES
        or type(bid_amount) not in _NUMBER_TYPES
        or type(ask_price) not in _NUMBER_TYPES
        or type(ask_amount) not in _NUMBER_TYPES
    ):
        raise TypeError(f"book touch {touch!r} is not four numbers (float or int)")
    return (bid_price, bid_amount), (ask_price, ask_amount)


_NUMBER_TYPES = (float, int)
_DECIMALS: dict[float, Decimal] = {}  # float -> Decimal(repr(float)): book prices and sizes recur from tick to tick
_DECIMALS_MAX = 100_000  # entries kept before the memo starts over (a few MB)


def _decimal(x: float | int) -> Decimal:
    """`Decimal(repr(x))`, memoised for floats (the same value always gives the same Decimal, digits included).

    Only nonzero, non-NaN floats are memoised: an int and the equal float (5 and 5.0) hash alike but print
    differently, as do 0.0 and -0.0, and NaN never finds itself.
    """
    if type(x) is float and x == x and x != 0.0:
        found = _DECIMALS.get(x)
        if found is None:
            if len(_DECIMALS) >= _DECIMALS_MAX:
                _DECIMALS.clear()
            found = _DECIMALS[x] = Decimal(repr(x))
        return found
    return Decimal(repr(x))


def _dec(x: Any) -> Decimal:
    """`Decimal(x)`; a Decimal is kept as it is (the same value and digits, without a copy)."""
    return x if type(x) is Decimal else Decimal(x)


def _read_top(book: Any, bids: bool) -> tuple[float, float] | None:
    """The best (price, amount) row of one side of a Hummingbot book; None for an empty side.

    Raises:
        TypeError: the row's price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    row = next(iter(book.bid_entries() if bids else book.ask_entries()), None)
    if row is None:
        return None
    price, amount = row.price, row.amount
    if type(price) not in _NUMBER_TYPES or type(amount) not in _NUMBER_TYPES:
        raise TypeError(f"book row ({price!r}, {amount!r}) is not a pair of numbers (float or int)")
    return price, amount


def _read_rows(book: Any, bids: bool, depth: int) -> list[tuple[float, float]]:
    """The first `depth` (price, amount) rows of one side of a Hummingbot book.

    Raises:
        TypeError: a row's price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    entries = book.bid_entries() if bids else book.ask_entries()
    rows = [(row.price, row.amount) for row in islice(entries, depth)]
    for price, amount in rows:
        if type(price) not in _NUMBER_TYPES or type(amount) not in _NUMBER_TYPES:
            raise TypeError(f"book row ({price!r}, {amount!r}) is not a pair of numbers (float or int)")
    return rows


def _rules(rule: Any) -> MarketRules:
    """A Hummingbot TradingRule's lot and tick sizes as Decimals."""
    return MarketRules(
        min_order_size=Decimal(rule.min_order_size),
        lot_size=Decimal(rule.min_base_amount_increment),
        tick_size=Decimal(rule.min_price_increment),
        min_notional=Decimal(rule.min_notional_size),
    )


def _fees(
    connector: Any, name: str, token: str, quote: str, kind: MarketKind, book: Optional[BookSnapshot]
) -> FeeSchedule:
    """Taker/maker rates for open and close from the connector's own fee schedule (keywords: the perp and
    spot `get_fee` signatures differ)."""
    price = book.mid if book is not None and book.mid is not None else Decimal("1")
    rates = {}
    for maker in (False, True):
        for action in (PositionAction.OPEN, PositionAction.CLOSE):
            kwargs: dict[str, Any] = dict(
                base_currency=token,
                quote_currency=quote,
                order_type=OrderType.MARKET if not maker else OrderType.LIMIT_MAKER,
                order_side=TradeType.BUY,
                amount=Decimal("1"),
                price=price,
                is_maker=maker,
            )
            if kind is MarketKind.PERP:
                kwargs["position_action"] = action
            rates[(maker, action)] = Decimal(connector.get_fee(**kwargs).percent)
    spec = venue_spec(name)
    source = "connector"
    if spec is not None and all(r == 0 for r in rates.values()) and spec.taker_fee > 0:
        # A schedule of zeros where the venue charges fees means the schedule is not loaded: do not under-cost.
        source = "venue-spec"
        return FeeSchedule(spec.taker_fee, spec.taker_fee, spec.maker_fee, spec.maker_fee, source)
    return FeeSchedule(
        rates[(False, PositionAction.OPEN)],
        rates[(False, PositionAction.CLOSE)],
        rates[(True, PositionAction.OPEN)],
        rates[(True, PositionAction.CLOSE)],
        source,
    )
