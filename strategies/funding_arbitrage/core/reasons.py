"""Why the edge engine skipped a market, rejected a candidate or closed a position (pure core).

Three `str` enums so the status line, logs and metrics print the same words:

* `SkipReason`: a market (or a candidate's market) was not usable this tick because of its data.
* `Reason`: the verdict on one candidate hedge (accepted, or why not).
* `ExitReason`: why a held pair should be closed.
"""

from __future__ import annotations

from enum import StrEnum


class SkipReason(StrEnum):
    """A market left out of this tick's evaluation; counted in `TickDecision.skipped`."""

    MISSING_SNAPSHOT = "missing_snapshot"  # a configured market has no snapshot this tick
    UNCONFIGURED_MARKET = "unconfigured_market"  # connector/token/kind not in the settings
    DUPLICATE_MARKET = "duplicate_market"  # a second snapshot of a market already seen this tick
    VENUE_NOT_READY = "venue_not_ready"
    MISSING_BOOK = "missing_book"
    EMPTY_BOOK = "empty_book"
    CROSSED_BOOK = "crossed_book"  # best bid >= best ask
    BAD_PRICE = "bad_price"  # NaN, infinite, zero or negative price (book level or mark)
    BAD_SIZE = "bad_size"  # NaN, infinite, zero or negative level size
    UNSORTED_BOOK = "unsorted_book"  # bids not descending or asks not ascending
    STALE_BOOK = "stale_book"
    MISSING_FUNDING = "missing_funding"  # a perp without a funding snapshot
    STALE_FUNDING = "stale_funding"
    FUNDING_PAST_DUE = "funding_past_due"  # next settlement long in the past: the venue feed stopped
    BAD_RATE = "bad_rate"  # NaN or infinite funding rate
    RATE_BEYOND_CAP = "rate_beyond_cap"  # |rate| above the venue cap (or the 5 % sanity bound)
    BAD_RULES = "bad_rules"  # lot size / min order / min notional not usable
    BAD_FEES = "bad_fees"
    INTERVAL_UNKNOWN = "interval_unknown"  # perp whose settlement interval is neither observed nor hinted
    INTERNAL_ERROR = "internal_error"  # last line of defence: an exception, logged with its traceback


class Reason(StrEnum):
    """Verdict on one candidate hedge, in the order the checks run."""

    ACCEPTED = "accepted"  # passes edge, break-even and persistence: eligible to enter
    AWAITING_PERSISTENCE = "awaiting_persistence"
    FUNDING_BELOW_COST_FLOOR = "funding_below_cost_floor"  # even with zero slippage it cannot reach the minimum
    INTERVAL_UNKNOWN = "interval_unknown"
    BOOK_TOO_THIN = "book_too_thin"
    SIZE_ROUNDS_TO_ZERO = "size_rounds_to_zero"
    BELOW_MIN_ORDER_SIZE = "below_min_order_size"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    NO_BORROW_RATE = "no_borrow_rate"
    NO_BREAK_EVEN = "no_break_even"  # funding net of borrow does not pay anything per hour
    EDGE_BELOW_MIN = "edge_below_min"
    BREAK_EVEN_TOO_LONG = "break_even_too_long"
    TOKEN_CAP = "token_cap"
    VENUE_CAP = "venue_cap"
    TOTAL_CAP = "total_cap"
    CONFLICTS_WITH_HELD = "conflicts_with_held"  # would take the opposite side of a held leg on the same market
    NOT_BEST_FOR_TOKEN = "not_best_for_token"  # another pair of the same token entered this tick
    BAD_MARKET_DATA = "bad_market_data"  # a deeper book level failed validation (see `skipped`)


class ExitReason(StrEnum):
    """Why a held pair should be closed."""

    MAX_HOLDING = "max_holding"
    TAKE_PROFIT = "take_profit"
    EDGE_DECAYED = "edge_decayed"  # forward funding APR below exit_edge_apr_pct for exit_confirmations ticks
    SWITCH = "switch"  # closed for a better pair whose expected gain pays the whole switch (core/switching.py)


REVERSE_CARRY_UNSUPPORTED = (
    "reverse carry (short spot via margin borrow, long perp) is not offered: Hummingbot spot connectors "
    "place no margin-borrow or short-sell orders, so when perp funding is negative only perp-perp pairs trade"
)
