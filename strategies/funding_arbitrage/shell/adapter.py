"""Hummingbot connectors -> frozen snapshots (the only core-facing module that imports hummingbot).

Staleness: Hummingbot exposes no receive time for books or funding, so the builder remembers when each
market's top of book and funding last *changed* and stamps that as `observed_ts`. A funding snapshot whose
`next_funding_ts` lies in the past (the venue did not roll it after the settlement) keeps its old stamp too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
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
)
from ..core.venues import is_perp_connector, venue_spec

log = logging.getLogger(__name__)
BOOK_LEVELS = 20
FEE_REFRESH_S = 3600.0  # fee schedules change rarely (tier updates); re-read them hourly, not every tick


class SnapshotBuilder:
    """Copies connector state into a TickSnapshot once per tick; remembers when data last changed."""

    def __init__(self, settings: FundingArbSettings) -> None:
        self._settings = settings
        self._book_seen: dict[tuple[str, str], tuple[Any, float]] = {}
        self._funding_seen: dict[tuple[str, str], tuple[Any, float]] = {}
        self.errors: dict[str, int] = {}
        self._fees: dict[tuple[str, str], tuple[FeeSchedule, float]] = {}
        self._rules: dict[tuple[str, str], tuple[Any, tuple[Any, ...], MarketRules]] = {}

    def _rules_of(self, name: str, connector: Any, pair: str) -> Optional[MarketRules]:
        """`_rules`, reused while the connector keeps the very same rule object and field values (rules are
        static between the venue's rule refreshes, which replace the objects)."""
        rule = getattr(connector, "trading_rules", {}).get(pair)
        if rule is None:
            return None
        raw = (rule.min_order_size, rule.min_base_amount_increment, rule.min_price_increment, rule.min_notional_size)
        cached = self._rules.get((name, pair))
        if (
            cached is not None
            and cached[0] is rule
            and cached[1][0] is raw[0]
            and cached[1][1] is raw[1]
            and cached[1][2] is raw[2]
            and cached[1][3] is raw[3]
        ):
            return cached[2]
        rules = _rules(connector, pair)
        if rules is not None:
            self._rules[(name, pair)] = (rule, raw, rules)
        return rules

    def build(self, ts: float, connectors: Mapping[str, Any]) -> TickSnapshot:
        markets = []
        append = markets.append
        market = self._market
        tokens = self._settings.tokens
        for connector_name in self._settings.all_connectors:
            connector = connectors.get(connector_name)
            if connector is None:
                continue
            for token in tokens:
                snap = market(ts, connector_name, connector, token)
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

    def _market(self, ts: float, name: str, connector: Any, token: str) -> Optional[MarketSnapshot]:
        pair = self._settings.trading_pair(name, token)
        kind = MarketKind.PERP if is_perp_connector(name) else MarketKind.SPOT
        try:
            rules = self._rules_of(name, connector, pair)
            if rules is None:
                self._count("no_trading_rule")
                return None
            book = self._book(ts, name, connector, pair)
            funding = self._funding(ts, name, connector, pair) if kind is MarketKind.PERP else None
            cached = self._fees.get((name, token))
            if cached is None or ts - cached[1] >= FEE_REFRESH_S:
                cached = (_fees(connector, name, token, self._settings.quote_assets[name], kind, book), ts)
                self._fees[(name, token)] = cached
            fees = cached[0]
            leverage = Decimal(self._settings.leverage.get(name, 1))
        except Exception as e:  # a venue returned something we cannot read: skip the market, keep ticking
            self._count("adapter_error")
            log.warning("market=%s/%s skipped: adapter could not read connector state: %r", name, pair, e)
            return None
        return MarketSnapshot(name, token, pair, kind, book, funding, fees, rules, leverage)

    def _book(self, ts: float, name: str, connector: Any, pair: str) -> Optional[BookSnapshot]:
        try:
            ob = connector.get_order_book(pair)
        except (KeyError, ValueError):
            return None
        guard = (getattr(ob, "snapshot_uid", None), getattr(ob, "last_diff_uid", None))  # the book's version
        bids, asks = BookLevels(ob, True, guard), BookLevels(ob, False, guard)
        key = (name, pair)
        fingerprint = (bids.top_row(), asks.top_row(), guard)
        seen = self._book_seen.get(key)
        observed = ts if seen is None or seen[0] != fingerprint else seen[1]
        self._book_seen[key] = (fingerprint, observed)
        return BookSnapshot(name, pair, bids, asks, observed)  # type: ignore[arg-type]  # tuple-like, lazy

    def _funding(self, ts: float, name: str, connector: Any, pair: str) -> Optional[FundingSnapshot]:
        try:
            info = connector.get_funding_info(pair)
        except KeyError:
            return None
        key = (name, pair)
        next_ts = int(info.next_funding_utc_timestamp)
        fingerprint = (info.rate, next_ts, info.mark_price)
        seen = self._funding_seen.get(key)
        rolled = next_ts >= ts
        changed = seen is None or (seen[0] != fingerprint and rolled)
        observed = ts if changed else seen[1]  # type: ignore[index]
        self._funding_seen[key] = (fingerprint, observed)
        return FundingSnapshot(
            name, pair, _dec(info.rate), next_ts, _dec(info.mark_price), _dec(info.index_price), observed
        )

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

    def __init__(self, book: Any, bids: bool, guard: tuple[Any, Any] | None = None) -> None:
        """`guard`: the book's (snapshot_uid, last_diff_uid) if the caller has just read them (else read here)."""
        self._book: Any = book
        self._bids = bids
        self._guard = (
            guard if guard is not None else (getattr(book, "snapshot_uid", None), getattr(book, "last_diff_uid", None))
        )
        self._top_row: tuple[float, float] | None = _read_top(book, bids)
        self._top: tuple[Decimal, Decimal] | None = None
        self._all: tuple[tuple[Decimal, Decimal], ...] | None = None
        self._rows: list[tuple[float, float]] | None = None  # every level as read (floats), on first deep use
        self._done: list[tuple[Decimal, Decimal]] = []  # the levels converted so far, in order
        if self._top_row is None:
            self._all, self._book = (), None

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
            self._rows = rows
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
        if index == 0 and not isinstance(index, slice) and self._all is None and self._top_row is not None:
            if self._top is None:
                price, amount = self._top_row
                self._top = (_decimal(price), _decimal(amount))
            return self._top
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


def _rules(connector: Any, pair: str) -> Optional[MarketRules]:
    rule = getattr(connector, "trading_rules", {}).get(pair)
    if rule is None:
        return None
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
