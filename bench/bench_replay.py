"""Benchmark: the whole development period through `funding-arb replay` (run on demand, not by pytest).

    .venv/bin/python bench/bench_replay.py [--tick 60] [--out out/bench_replay]

Replays cross_venue_2025 (BTC ETH SOL DOGE HYPE, binance+bybit perps, binance spot, default period) with the
strategy and baseline runs plus the oracle, and prints wall time and simulated seconds per wall second.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from strategies.funding_arbitrage.shell.home import project_root
from strategies.funding_arbitrage.replay.runner import ReplayOptions, run_replay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tick", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("out/bench_replay"))
    args = parser.parse_args()
    opts = ReplayOptions(data_dir=project_root() / ".." / "shared" / "data" / "cross_venue_2025",
                         tick_s=args.tick, out_dir=args.out, progress=False)
    t0 = time.monotonic()
    report, _ = run_replay(opts)
    wall = time.monotonic() - t0
    sim = float(report.sim_seconds)
    print(f"period {report.period['start']} -> {report.period['end']} ({sim / 86400:.1f} days), tick {args.tick:g}s")
    print(f"wall {wall:.1f}s for {len(report.runs)} runs; simulated seconds per wall second: {sim / wall:,.0f} "
          f"(per strategy run: {2 * sim / wall:,.0f})")
    for name, run in report.runs.items():
        print(f"  {name:<18} net {run.net_pnl_quote:10.2f}  funding {run.funding_pnl_quote:9.2f}  fees "
              f"{run.fees_quote:8.2f}  slippage {run.slippage_quote:7.2f}  basis {run.basis_pnl_quote:8.2f}  "
              f"pairs {run.pairs_opened}")


if __name__ == "__main__":
    main()
