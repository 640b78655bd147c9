"""Decision rules of Hummingbot's example `scripts/v2_funding_rate_arb.py`, as pure functions (no hummingbot).

Re-implemented from its documented behaviour (not from its code) so the replay can run the baseline on the
same simulated venues as our strategy. Faithful on purpose, including its weaknesses:
  * Rates are normalised with a FIXED interval map: Hyperliquid 1 h, every other venue 8 h. A Binance coin
    settling every 4 h is treated as 8 h, so its per-day rate is halved (the phantom spreads this causes
    are part of what the baseline is measured on).
  * Costs: entry fees only (taker, both legs) plus a flat exit buffer; no break-even time, no book depth.

Rules, per token, over every ordered pair of perp connectors (long L, short S) that both have a rate:
    diff_24h = (rate_S / interval(S) − rate_L / interval(L)) × 86 400     (fraction of notional per day)
  best pair = the largest diff_24h (ties: the first in sorted connector order).
  Enter (both legs at market, `leverage`, `position_size_quote` per leg) when all hold:
    E1  diff_24h ≥ min_funding_rate_profitability                              (0.001 = 0.1 %/day)
    E2  entry cost: price_gap − fee_L − fee_S − estimated_exit_cost_buffer ≥ −max_trade_profitability_loss
        with price_gap = (sell price on S − buy price on L) / buy price on L (best bid / best ask when
        known, else mid; 0 when either is unknown).
        Defaults: 0 − 0.0005 − 0.00055 − 0.0005 = −0.00155 ≥ −0.002 passes.
    E3  only if `trade_profitability_condition_to_enter`: diff_24h − fee_L − fee_S ≥ min_net_profitability.
  Exit a held token (first matching rule wins):
    X1  single leg: a leg still unfilled `single_leg_timeout_s` after opening -> close what filled.
    X2  take profit: leg PnL + funding received ≥ profitability_to_take_profit × position size
        (one leg's notional).
    X3  spread turned: current diff_24h of the held pair < funding_rate_diff_stop_loss (−0.001).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ..core.venues import is_perp_connector, venue_name

log = logging.getLogger(__name__)

SECONDS_PER_DAY = Decimal(86400)
HYPERLIQUID_INTERVAL_S = 3600
DEFAULT_INTERVAL_S = 8 * 3600
_ZERO = Decimal(0)

FeeLookup = Callable[[str, str], Decimal]  # (connector, token) -> taker fee fraction for opening


@functools.lru_cache(maxsize=64)
def upstream_interval_s(connector: str) -> int:
    """The example's fixed map: Hyperliquid 1 h, anything else 8 h (NOT the venue's real interval)."""
    return HYPERLIQUID_INTERVAL_S if venue_name(connector) == "hyperliquid" else DEFAULT_INTERVAL_S


def rate_per_second(connector: str, rate: Decimal) -> Decimal:
    return rate / _interval_decimal(connector)


@functools.lru_cache(maxsize=64)
def _interval_decimal(connector: str) -> Decimal:
    return Decimal(upstream_interval_s(connector))


def funding_diff_24h(long_connector: str, long_rate: Decimal, short_connector: str, short_rate: Decimal) -> Decimal:
    """Funding earned per day by (long L, short S), as the example computes it (fraction of notional).

    Example: Binance 0.0004 per 4 h (read as 8 h -> 0.0012/day), Hyperliquid 0.0001 per h (0.0024/day):
    long Binance / short Hyperliquid -> 0.0012, although the true spread is 0.
    """
    per_s = rate_per_second(short_connector, short_rate) - rate_per_second(long_connector, long_rate)
    return per_s * SECONDS_PER_DAY


@dataclass(frozen=True)
class BaselineConfig:
    """The example's settings (defaults as documented upstream, plus the entry-cost check's parameters)."""

    connectors: tuple[str, ...]
    tokens: tuple[str, ...]
    leverage: int = 20
    position_size_quote: Decimal = Decimal(100)
    min_funding_rate_profitability: Decimal = Decimal("0.001")
    profitability_to_take_profit: Decimal = Decimal("0.01")
    funding_rate_diff_stop_loss: Decimal = Decimal("-0.001")
    trade_profitability_condition_to_enter: bool = False
    min_net_profitability: Decimal = Decimal("0.001")
    max_trade_profitability_loss: Decimal = Decimal("0.002")
    estimated_exit_cost_buffer: Decimal = Decimal("0.0005")
    single_leg_timeout_s: int = 5

    def __post_init__(self) -> None:
        if len(set(self.connectors)) < 2:
            raise ValueError(f"connectors ({self.connectors}) must name at least two perp connectors")
        if self.leverage < 1 or self.position_size_quote <= 0 or self.single_leg_timeout_s < 1:
            raise ValueError(
                f"leverage ({self.leverage}), position_size_quote ({self.position_size_quote}) "
                f"and single_leg_timeout_s ({self.single_leg_timeout_s}) must be positive"
            )


@dataclass(frozen=True)
class FundingObs:
    """What the example sees of one perp market: the current rate (per the venue's interval) and prices."""

    rate: Decimal
    mid_price: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None

    def buy_price(self) -> Decimal | None:
        return self.best_ask if self.best_ask is not None else self.mid_price

    def sell_price(self) -> Decimal | None:
        return self.best_bid if self.best_bid is not None else self.mid_price


@dataclass(frozen=True)
class BaselineHeld:
    """A position the baseline holds on one token. PnL and funding in quote, summed over both legs."""

    long_connector: str
    short_connector: str
    opened_ts: float
    size_quote: Decimal
    pnl_quote: Decimal = _ZERO
    funding_quote: Decimal = _ZERO
    long_filled: bool = True
    short_filled: bool = True


class ExitReason(StrEnum):
    SINGLE_LEG_TIMEOUT = "single_leg_timeout"
    TAKE_PROFIT = "take_profit"
    SPREAD_TURNED = "spread_turned"


@dataclass(frozen=True)
class BaselineEnter:
    token: str
    long_connector: str
    short_connector: str
    funding_diff_24h: Decimal
    size_quote: Decimal
    leverage: int


@dataclass(frozen=True)
class BaselineExit:
    token: str
    reason: ExitReason
    detail: str


@dataclass(frozen=True)
class PairChoice:
    long_connector: str
    short_connector: str
    funding_diff_24h: Decimal


class BaselineRules:
    """`decide()` turns one tick's observations into entries and exits; the caller executes them."""

    def __init__(self, config: BaselineConfig) -> None:
        self.config = config

    def best_pair(self, token: str, rates: Mapping[tuple[str, str], FundingObs]) -> PairChoice | None:
        """The ordered pair with the largest diff_24h among connectors with a rate for `token`."""
        live = sorted(c for c in self.config.connectors if (c, token) in rates)
        best: PairChoice | None = None
        for long_c in live:
            for short_c in live:
                if long_c == short_c:
                    continue
                long_rate, short_rate = rates[(long_c, token)].rate, rates[(short_c, token)].rate
                diff = funding_diff_24h(long_c, long_rate, short_c, short_rate)
                if best is None or diff > best.funding_diff_24h:
                    best = PairChoice(long_c, short_c, diff)
        return best

    def entry_cost_frac(
        self, token: str, pick: PairChoice, rates: Mapping[tuple[str, str], FundingObs], fee_lookup: FeeLookup
    ) -> Decimal:
        """price_gap − fee_L − fee_S − estimated_exit_cost_buffer (E2's left side; negative is a loss)."""
        buy = rates[(pick.long_connector, token)].buy_price()
        sell = rates[(pick.short_connector, token)].sell_price()
        gap = (sell - buy) / buy if buy is not None and sell is not None and buy > 0 else _ZERO
        fees = fee_lookup(pick.long_connector, token) + fee_lookup(pick.short_connector, token)
        return gap - fees - self.config.estimated_exit_cost_buffer

    def _entry(
        self, token: str, rates: Mapping[tuple[str, str], FundingObs], fee_lookup: FeeLookup
    ) -> BaselineEnter | None:
        cfg = self.config
        pick = self.best_pair(token, rates)
        if pick is None or pick.funding_diff_24h < cfg.min_funding_rate_profitability:
            return None
        cost = self.entry_cost_frac(token, pick, rates, fee_lookup)
        if cost < -cfg.max_trade_profitability_loss:
            log.info("baseline skip token=%s reason=entry_cost cost_frac=%s", token, cost)
            return None
        if cfg.trade_profitability_condition_to_enter:
            fees = fee_lookup(pick.long_connector, token) + fee_lookup(pick.short_connector, token)
            net = pick.funding_diff_24h - fees
            if net < cfg.min_net_profitability:
                log.info("baseline skip token=%s reason=net_profitability net=%s", token, net)
                return None
        log.info(
            "baseline enter token=%s long=%s short=%s diff_24h=%s",
            token,
            pick.long_connector,
            pick.short_connector,
            pick.funding_diff_24h,
        )
        return BaselineEnter(
            token,
            pick.long_connector,
            pick.short_connector,
            pick.funding_diff_24h,
            cfg.position_size_quote,
            cfg.leverage,
        )

    def _exit(
        self, ts: float, token: str, held: BaselineHeld, rates: Mapping[tuple[str, str], FundingObs]
    ) -> BaselineExit | None:
        cfg = self.config
        if not (held.long_filled and held.short_filled) and ts - held.opened_ts >= cfg.single_leg_timeout_s:
            return BaselineExit(
                token, ExitReason.SINGLE_LEG_TIMEOUT, f"long_filled={held.long_filled} short_filled={held.short_filled}"
            )
        gain = held.pnl_quote + held.funding_quote
        if gain >= cfg.profitability_to_take_profit * held.size_quote:
            return BaselineExit(token, ExitReason.TAKE_PROFIT, f"pnl+funding={gain}")
        long_obs = rates.get((held.long_connector, token))
        short_obs = rates.get((held.short_connector, token))
        if long_obs is not None and short_obs is not None:
            diff = funding_diff_24h(held.long_connector, long_obs.rate, held.short_connector, short_obs.rate)
            if diff < cfg.funding_rate_diff_stop_loss:
                return BaselineExit(token, ExitReason.SPREAD_TURNED, f"diff_24h={diff}")
        return None

    def decide(
        self,
        ts: float,
        rates: Mapping[tuple[str, str], FundingObs],
        held: Mapping[str, BaselineHeld],
        fee_lookup: FeeLookup,
    ) -> tuple[list[BaselineEnter], list[BaselineExit]]:
        """Entries for tokens not held, exits for tokens held; both sorted by token.

        `rates` maps (connector, token) to the current observation; a market without one is skipped.
        """
        enters: list[BaselineEnter] = []
        exits: list[BaselineExit] = []
        for token in sorted(self.config.tokens):
            if token in held:
                decision = self._exit(ts, token, held[token], rates)
                if decision is not None:
                    log.info("baseline exit token=%s reason=%s %s", token, decision.reason.value, decision.detail)
                    exits.append(decision)
            else:
                entry = self._entry(token, rates, fee_lookup)
                if entry is not None:
                    enters.append(entry)
        return enters, exits


def baseline_connectors(perp_connectors: Sequence[str]) -> tuple[str, ...]:
    """The example trades perp venues only (no spot legs)."""
    return tuple(sorted(c for c in perp_connectors if is_perp_connector(c)))
