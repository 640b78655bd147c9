"""What `max_token_exposure_quote` bounds (its field docstring): each new pair's notional per leg at entry, at the
pair's reference mid (the mean of its legs' mids), and a token holds one pair at a time. A held pair is never resized:
one whose value is above the cap (price moves, or entered under a larger setting before a restart) only blocks its
token until it exits.
"""

from __future__ import annotations

from decimal import Decimal

from edge_builders import BINANCE, BYBIT, T0, held, perp, settings, tick
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.decisions import EdgeEngine

D = Decimal
MIDS = ("60000", "3000", "150", "2.5")


def _wide(mid: str, basis_bp: int, token: str = "BTC", ts: float = T0) -> list:
    """An accepted perp-perp edge (Binance 0.01 %/8h long, Bybit 0.1 %/8h short), Bybit's mid `basis_bp` away."""
    other = D(mid) * (1 + D(basis_bp) / 10000)
    return [
        perp(BINANCE, "0.0001", token=token, mid=mid, ts=ts),
        perp(BYBIT, "0.001", token=token, mid=other, ts=ts),
    ]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    cap=st.decimals(min_value=50, max_value=3000, places=2),
    share=st.decimals(min_value=D("0.1"), max_value=1, places=2),
    mid=st.sampled_from(MIDS),
    basis_bp=st.integers(min_value=-20, max_value=20),
)
def test_no_entry_is_sized_above_the_token_cap(cap: Decimal, share: Decimal, mid: str, basis_bp: int) -> None:
    order = max(D("0.01"), (cap * share).quantize(D("0.01")))  # order_amount_quote <= cap: config check
    engine = EdgeEngine(settings(max_token_exposure_quote=cap, order_amount_quote=order))
    long_mid, short_mid = D(mid), D(mid) * (1 + D(basis_bp) / 10000)
    ref_mid = (long_mid + short_mid) / 2

    decision = engine.evaluate(tick(T0, *_wide(mid, basis_bp)))

    for enter in decision.enters:
        assert enter.notional_quote <= order <= cap
        assert enter.long_amount_base * ref_mid <= cap and enter.short_amount_base * ref_mid <= cap


def test_an_entry_at_the_cap_uses_it_up_to_one_lot() -> None:
    engine = EdgeEngine(settings(max_token_exposure_quote=D("1000"), order_amount_quote=D("1000")))

    (enter,) = engine.evaluate(tick(T0, *_wide("60000", 0))).enters

    assert D("1000") - 60 < enter.notional_quote <= D("1000")  # one lot of 0.001 BTC is 60 quote


def test_a_token_held_above_the_cap_gets_no_second_pair_and_is_not_resized() -> None:
    """After a restart with a lower cap (or a price rise) the held pair is worth more than the cap: it is kept as it
    is (no order for it), and its token gets no other pair; another token still enters."""
    engine = EdgeEngine(settings(tokens=["BTC", "ETH"], max_token_exposure_quote=D("500"), order_amount_quote=D("500")))
    above = held(token="BTC", amount="0.05", notional="3000")

    decision = engine.evaluate(tick(T0, *_wide("60000", 0), *_wide("3000", 0, token="ETH")), (above,))

    assert [e.token for e in decision.enters] == ["ETH"]
    assert decision.enters[0].notional_quote <= D("500")
    assert decision.exits == ()  # the cap never closes or shrinks a held pair
