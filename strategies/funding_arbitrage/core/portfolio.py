"""Account equity the risk gate can trust, counted the same way at every instant (pure core).

    equity = sum of quote balances on every venue (totals: funds locked in open orders included)
           + every base asset held on a spot venue, at that market's mid
           + unrealised PnL of every perp position (at the venue's mark)

A spot buy moves quote into base at the fill price: equity changes by the fee and by (mid - fill price) *
amount, i.e. the slippage against mid, not by the notional. A perp fill changes it by its fee and the
slippage against mark; a funding settlement by the payment; a liquidation by the position's PnL and the
venue's penalty. Orders in flight hold no value apart from their locked funds, which the venues' *total*
balances still include (Hummingbot's `get_balance`, not `get_available_balance`).
Unknown inputs (a venue's balance, a held spot asset's mid) make the equity unknown (None), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from .config import FundingArbSettings
from .snapshots import PositionSnapshot

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def account_equity(
    connectors: Iterable[str],
    balances_quote: Mapping[str, Decimal],
    spot_base_balances: Mapping[tuple[str, str], Decimal],
    spot_mids: Mapping[tuple[str, str], Decimal | None],
    positions: Iterable[PositionSnapshot],
) -> Decimal | None:
    """Equity in quote (see module doc); None while any venue balance or a held spot asset's mid is unknown.

    `spot_base_balances` and `spot_mids` are keyed (spot connector, trading pair); zero holdings need no mid.
    """
    total = _ZERO
    for name in connectors:
        balance = balances_quote.get(name)
        if balance is None:
            return None
        total += balance
    for key, amount in spot_base_balances.items():
        if amount == 0:
            continue
        mid = spot_mids.get(key)
        if mid is None or not mid.is_finite() or mid <= 0:
            return None
        total += amount * mid
    for p in positions:
        total += p.unrealized_pnl
    return total


def drawdown_limit_quote(settings: FundingArbSettings) -> Decimal:
    """The tighter of `max_drawdown_quote` and `max_drawdown_pct` % of `total_capital_quote`."""
    return min(settings.max_drawdown_quote, settings.max_drawdown_pct / _HUNDRED * settings.total_capital_quote)
