"""Hummingbot connectors -> frozen snapshots (the only core-facing module that imports hummingbot).

Staleness: Hummingbot exposes no receive time for books or funding, so the builder remembers when each
market's top of book and funding last *changed* and stamps that as `observed_ts`. A funding snapshot whose
`next_funding_ts` lies in the past (the venue did not roll it after the settlement) keeps its old stamp too.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Collection, Mapping, Optional

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
from .book_levels import BOOK_LEVELS, BookLevels, LiveBookSnapshot, StaleBookError, live_book, read_touch
from .book_levels import _decimal as _decimal  # re-exported: tests check the memo where the adapter uses it

__all__ = ["BOOK_LEVELS", "BookLevels", "LiveBookSnapshot", "SnapshotBuilder", "StaleBookError"]

log = logging.getLogger(__name__)
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
        "key",
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
        self.key = (name, self.pair)  # (connector, trading pair), as partial snapshots name the markets they keep
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

    def build(
        self, ts: float, connectors: Mapping[str, Any], keep: Optional[Collection[tuple[str, str]]] = None
    ) -> TickSnapshot:
        """The tick's snapshot: every configured market (`keep` None), or a partial one (see `markets_needed` in
        `snapshot_scope.py`): the markets in `keep` (connector, trading pair), every market holding a position, and
        per connector the markets carrying its newest book and funding change (so the per-venue freshness the risk
        gate reads is that of the full snapshot). Every other market is only looked at (`_probe`): what the builder
        remembers of it (when its book and funding last changed) stays exactly what a full build leaves."""
        positions = tuple(self._positions(connectors))
        if keep is not None:
            keep = {*keep, *((p.connector, p.trading_pair) for p in positions)}
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
            if keep is None:
                for m in planned:
                    snap = market(ts, connector, rules_by_pair, m)
                    if snap is not None:
                        append(snap)
            else:
                markets.extend(self._partial(ts, connector, rules_by_pair, planned, keep))
        return TickSnapshot(
            ts=ts,
            markets=tuple(markets),
            positions=positions,
            balances_quote=self._balances(connectors),
            ready={name: bool(getattr(c, "ready", False)) for name, c in connectors.items()},
        )

    def _partial(
        self, ts: float, connector: Any, rules_by_pair: Any, planned: tuple[_Market, ...], keep: Collection[Any]
    ) -> list[MarketSnapshot]:
        """One connector's markets of a partial snapshot, in plan order (see `build`)."""
        snaps: list[Optional[MarketSnapshot]] = []  # per planned market: its snapshot; None if left out or unreadable
        newest_book = newest_funding = None  # the newest stamps among the markets built
        best_book: Any = None  # (stamp, index) of the newest among the markets left out (the first of equals)
        best_funding: Any = None
        for m in planned:
            seen = None if m.key in keep else self._probe(ts, connector, rules_by_pair, m)
            if seen is not None:
                book_ts, funding_ts = seen
                if book_ts is not None and (best_book is None or book_ts > best_book[0]):
                    best_book = (book_ts, len(snaps))
                if funding_ts is not None and (best_funding is None or funding_ts > best_funding[0]):
                    best_funding = (funding_ts, len(snaps))
                snaps.append(None)
                continue
            snap = self._market(ts, connector, rules_by_pair, m)
            snaps.append(snap)
            if snap is not None:
                newest_book = _newer(newest_book, snap.book)
                newest_funding = _newer(newest_funding, snap.funding)
        # the connector's newest book and funding change must be in the snapshot (the risk gate's freshness)
        if best_book is not None and (newest_book is None or best_book[0] > newest_book):
            snap = snaps[best_book[1]] = self._market(ts, connector, rules_by_pair, planned[best_book[1]])
            if snap is not None:
                newest_funding = _newer(newest_funding, snap.funding)
        if best_funding is not None and (newest_funding is None or best_funding[0] > newest_funding):
            snaps[best_funding[1]] = self._market(ts, connector, rules_by_pair, planned[best_funding[1]])
        return [snap for snap in snaps if snap is not None]

    def _probe(
        self, ts: float, connector: Any, rules_by_pair: Any, m: _Market
    ) -> Optional[tuple[Optional[float], Optional[float]]]:
        """Look at a market left out of a partial snapshot: note when its book and funding changed, exactly as
        `_book` and `_funding` do, without building its snapshot; (book observed_ts, funding observed_ts), None for
        a side not read (no book, no funding). None overall: the market must be built instead (a read failed or
        needs counting, no trading rule, fees due for their refresh): the full path then does and counts it."""
        try:
            if rules_by_pair is None or rules_by_pair.get(m.pair) is None:
                return None
            if m.fees is None or ts - m.fees_ts >= FEE_REFRESH_S:
                return None
            book_ts: Optional[float] = None
            try:
                ob = connector.get_order_book(m.pair)
            except (KeyError, ValueError):
                ob = None
            if ob is not None:
                guard = (getattr(ob, "snapshot_uid", None), getattr(ob, "last_diff_uid", None))
                last = m.book_fp
                if last is None or last[2] != guard:  # a new book version: changed, whatever its touch
                    m.book_obs = ts
                    m.book_fp = (_UNREAD, _UNREAD, guard)
                else:
                    self._observe_touch(ts, m, *read_touch(ob), guard)
                book_ts = m.book_obs
            funding_ts: Optional[float] = None
            if m.perp and self._observe_funding(ts, connector, m) is not None:
                funding_ts = m.funding_obs
        except Exception:  # the full path reads it again, and counts and logs the failure
            return None
        return book_ts, funding_ts

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
        bid, ask = read_touch(ob)
        self._observe_touch(ts, m, bid, ask, guard)
        return live_book(m.name, m.pair, m.book_obs, ob, guard, bid, ask)

    @staticmethod
    def _observe_touch(ts: float, m: _Market, bid: Any, ask: Any, guard: tuple[Any, Any]) -> None:
        """Note the book's touch and version: `book_obs` moves to `ts` when either changed since the last look.
        After a look that read the version only (`_probe`: it had changed), an unchanged version counts as an
        unchanged book (a book's version changes with its content: `snapshot_uid`, `last_diff_uid`)."""
        last = m.book_fp
        if last is None or last[2] != guard or (last[0] is not _UNREAD and (last[0], last[1]) != (bid, ask)):
            m.book_obs = ts
        m.book_fp = (bid, ask, guard)

    def _observe_funding(self, ts: float, connector: Any, m: _Market) -> Any:
        """The connector's funding info of the market (None: it has none), noting when it last changed (and
        rolled): `funding_obs`."""
        try:
            info = connector.get_funding_info(m.pair)
        except KeyError:
            return None
        next_ts = int(info.next_funding_utc_timestamp)
        fingerprint = (info.rate, next_ts, info.mark_price)
        if m.funding_fp is None or (m.funding_fp != fingerprint and next_ts >= ts):  # changed (and rolled)
            m.funding_obs = ts
        m.funding_fp = fingerprint
        return info

    def _funding(self, ts: float, connector: Any, m: _Market) -> Optional[FundingSnapshot]:
        info = self._observe_funding(ts, connector, m)
        if info is None:
            return None
        rate, next_ts, mark = m.funding_fp
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


_UNREAD = object()  # a book fingerprint's touch not read (`_probe` saw a new book version)


def _newer(stamp: Optional[float], data: Any) -> Optional[float]:
    """The newer of `stamp` and the observed_ts of `data` (a book or funding snapshot, or None)."""
    if data is None:
        return stamp
    seen: float = data.observed_ts
    return seen if stamp is None or seen > stamp else stamp


def _dec(x: Any) -> Decimal:
    """`Decimal(x)`; a Decimal is kept as it is (the same value and digits, without a copy)."""
    return x if type(x) is Decimal else Decimal(x)


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
    perp = kind is MarketKind.PERP
    for maker in (False, True):
        for action in (PositionAction.OPEN, PositionAction.CLOSE):
            if not perp and action is PositionAction.CLOSE:  # a spot fee has no position action: the same call
                rates[(maker, action)] = rates[(maker, PositionAction.OPEN)]
                continue
            kwargs: dict[str, Any] = dict(
                base_currency=token,
                quote_currency=quote,
                order_type=OrderType.MARKET if not maker else OrderType.LIMIT_MAKER,
                order_side=TradeType.BUY,
                amount=Decimal("1"),
                price=price,
                is_maker=maker,
            )
            if perp:
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
