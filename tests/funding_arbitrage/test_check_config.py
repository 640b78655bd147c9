"""`funding-arb check-config`: every malformed config is rejected with a message naming the field."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from strategies.funding_arbitrage.cli.launcher import main
from strategies.funding_arbitrage.core.config import HUMMINGBOT_KEYS, FundingArbSettings
from strategies.funding_arbitrage.core.risk import RiskGate

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = yaml.safe_load((ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "conf.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _with(**changes) -> dict:
    data = dict(SAMPLE)
    for k, v in changes.items():
        if v is _DELETE:
            data.pop(k)
        else:
            data[k] = v
    return data


_DELETE = object()

MALFORMED = [
    ("unknown key", _with(order_amount=5), "order_amount"),
    ("wrong type", _with(total_capital_quote="lots"), "total_capital_quote"),
    ("negative capital", _with(total_capital_quote=-1), "total_capital_quote"),
    (
        "single venue",
        _with(
            perp_connectors=["binance_perpetual"],
            spot_connectors=[],
            quote_assets={"binance_perpetual": "USDT"},
            leverage={"binance_perpetual": 3},
        ),
        "perp_connectors",
    ),
    (
        "leverage above venue max",
        _with(leverage={"binance_perpetual": 200, "bybit_perpetual": 3}),
        "leverage.binance_perpetual",
    ),
    ("leverage missing for a venue", _with(leverage={"binance_perpetual": 3}), "leverage"),
    ("threshold at or below costs", _with(min_net_edge_pct=0), "min_net_edge_pct"),
    ("take profit below round-trip fees", _with(take_profit_pct=0.05), "take_profit_pct"),
    ("spot connector in perp list", _with(perp_connectors=["binance", "bybit_perpetual"]), "perp_connectors"),
    ("unknown venue", _with(perp_connectors=["foo_perpetual", "bybit_perpetual"]), "perp_connectors"),
    ("missing quote asset", _with(quote_assets={"binance_perpetual": "USDT"}), "quote_assets"),
    ("lower-case token", _with(tokens=["btc"]), "tokens"),
    ("duplicate tokens", _with(tokens=["BTC", "BTC"]), "tokens"),
    ("order above token cap", _with(order_amount_quote=5000), "order_amount_quote"),
    (
        "exposure needs more margin than capital",
        _with(max_total_exposure_quote=100000, max_venue_exposure_quote=100000, max_token_exposure_quote=100000),
        "max_total_exposure_quote",
    ),
    ("bad prometheus port", _with(prometheus_port=80), "prometheus_port"),
    ("depth share above 100", _with(max_book_depth_share_pct=150), "max_book_depth_share_pct"),
    (
        "hedge mode on one-way-only venue",
        _with(
            perp_connectors=["binance_perpetual", "hyperliquid_perpetual"],
            quote_assets={"binance_perpetual": "USDT", "hyperliquid_perpetual": "USD"},
            leverage={"binance_perpetual": 3, "hyperliquid_perpetual": 3},
            position_mode="HEDGE",
        ),
        "position_mode",
    ),
    ("break-even beyond horizon", _with(max_break_even_hours=100, holding_horizon_hours=72), "max_break_even_hours"),
    (
        "borrowing without a rate",
        _with(
            spot_connectors=["binance"],
            spot_leg_borrows_quote=True,
            quote_assets={**SAMPLE["quote_assets"], "binance": "USDT"},
        ),
        "borrow_rates_apr_pct",
    ),
    (
        "interval hint out of range",
        _with(funding_interval_hints_hours={"binance_perpetual": 48}),
        "funding_interval_hints_hours",
    ),
    ("controllers configured", _with(controllers_config=["x.yml"]), "controllers_config"),
    ("drawdown above capital", _with(max_drawdown_quote=20000), "max_drawdown_quote"),
    ("empty state file", _with(state_file=""), "state_file"),
]


@pytest.mark.parametrize("label,data,field", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_check_config_rejects_malformed_config_naming_the_field(tmp_path, capsys, label, data, field):
    rc = main(["check-config", str(_write(tmp_path, data))])
    err = capsys.readouterr().err
    assert rc == 2
    assert field in err, err


def test_check_config_accepts_the_sample(capsys):
    assert main(["check-config", "conf_funding_arbitrage.yml"]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_accepts_both_samples(capsys):
    for name in ("conf_funding_arbitrage.yml", "conf_funding_arbitrage_sim.yml"):
        assert main(["check-config", name]) == 0, capsys.readouterr().err


# 20x opens a HYPE short 3.96 % from liquidation (Binance brackets, 630 quote; the nearest token); the cut is 3.8 %,
# x 1.2 = 4.56 %
NEAR_LIQUIDATION = dict(leverage={"binance_perpetual": 20, "bybit_perpetual": 1}, min_liquidation_distance_pct=3.8)


def _run_time_denial(data: dict) -> str | None:
    """What the risk gate answers at run time for an entry on binance_perpetual with these settings."""
    settings = FundingArbSettings.model_validate({k: v for k, v in data.items() if k not in HUMMINGBOT_KEYS})
    return RiskGate(settings).fresh_leg_reason("binance_perpetual")


def test_check_config_refuses_a_fixed_leverage_that_opens_legs_within_the_cut(tmp_path, capsys):
    rc = main(["check-config", str(_write(tmp_path, _with(**NEAR_LIQUIDATION)))])
    err = capsys.readouterr().err
    assert _run_time_denial(_with(**NEAR_LIQUIDATION)) is not None  # kept: entries there are denied at run time
    assert rc == 2
    [line] = [ln for ln in err.splitlines() if "leverage." in ln]  # one problem: bybit at 1x is far
    assert "leverage.binance_perpetual (20)" in line  # the field and its value
    assert "HYPE short" in line and "3.96%" in line  # the nearest token and its distance
    assert "1.2 x min_liquidation_distance_pct (3.8) = 4.56%" in line  # the bound


def test_check_config_judges_fixed_leverage_against_the_bound_not_the_cut_itself(tmp_path, capsys):
    # 3.96 % is beyond a 3.2 % cut (x 1.2 = 3.84 %): accepted, as the run-time check accepts it
    ok = _with(**{**NEAR_LIQUIDATION, "min_liquidation_distance_pct": 3.2})
    assert main(["check-config", str(_write(tmp_path, ok))]) == 0, capsys.readouterr().err
    assert _run_time_denial(ok) is None


def test_check_config_leaves_volatility_mode_leverage_to_the_run(tmp_path, capsys):
    # in volatility mode `leverage` is only the maximum; each market's leverage is chosen to keep the distance
    data = _with(**NEAR_LIQUIDATION, leverage_mode="volatility")
    assert main(["check-config", str(_write(tmp_path, data))]) == 0, capsys.readouterr().err


def test_check_config_reports_every_problem_at_once(tmp_path, capsys):
    data = _with(order_amount=5, tokens=["btc"], prometheus_port=80)
    assert main(["check-config", str(_write(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    for field in ("order_amount", "tokens", "prometheus_port"):
        assert field in err


def test_check_config_on_missing_and_non_mapping_files(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "nope.yml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    assert main(["check-config", str(tmp_path / "list.yml")]) == 2
    assert "mapping" in capsys.readouterr().err


def test_installed_console_script_runs_check_config():
    exe = Path(sys.executable).parent / "funding-arb"
    out = subprocess.run([str(exe), "check-config", "conf_funding_arbitrage.yml"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# --- strict configuration (issue 9): raw YAML lines appended to the sample, each refused naming field and value -------
SAMPLE_TEXT = (ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml").read_text()


def _sample_with(**yaml_values: str) -> str:
    """The sample's text with `field: value` lines replaced (YAML written as is, so `true` stays a boolean)."""
    lines = SAMPLE_TEXT.splitlines()
    for field, value in yaml_values.items():
        out, skipping = [], False
        for ln in lines:
            if ln.startswith(f"{field}:"):
                out.append(f"{field}: {value}")
                skipping = True  # drop the replaced field's block lines (indented `  key: value`)
            elif skipping and ln.startswith("  ") and ln.lstrip().startswith("#"):
                out.append(ln)  # a comment continuing the replaced field's line: keep it, keep skipping
            elif skipping and ln.startswith("  "):
                continue
            else:
                skipping = False
                out.append(ln)
        if not any(ln.startswith(f"{field}:") for ln in out):
            out.append(f"{field}: {value}")
        lines = out
    return "\n".join(lines) + "\n"


# (label, YAML text, field named, value named): every one refused, all in one run below
STRICT: list[tuple[str, str, str, str]] = [
    ("duplicate key, the last would win", SAMPLE_TEXT + "max_drawdown_quote: 9999\n", "max_drawdown_quote", "9999"),
    (
        "guard set so high it is off",
        _sample_with(single_leg_timeout_s="999999999"),
        "single_leg_timeout_s",
        "999999999",
    ),
    (
        "USDT leg against a USDC leg",
        _sample_with(quote_assets="{binance_perpetual: USDT, bybit_perpetual: USDC}"),
        "quote_assets",
        "USDC",
    ),
    ("state file outside the project", _sample_with(state_file="/etc/passwd"), "state_file", "/etc/passwd"),
    ("true as an integer", _sample_with(persistence_observations="true"), "persistence_observations", "True"),
    ("yes as a number", _sample_with(max_drawdown_quote="yes"), "max_drawdown_quote", "True"),
    ("boolean leverage", _sample_with(leverage="{binance_perpetual: true, bybit_perpetual: 3}"), "leverage", "True"),
    (
        "journal escaping the home",
        _sample_with(journal_file="../elsewhere/j.sqlite"),
        "journal_file",
        "../elsewhere/j.sqlite",
    ),
    ("journal outside the home", _sample_with(journal_file="/tmp/j.sqlite"), "journal_file", "/tmp/j.sqlite"),
    ("kill switch outside the home", _sample_with(kill_switch_file="/tmp/kill"), "kill_switch_file", "/tmp/kill"),
    ("empty kill switch", _sample_with(kill_switch_file="''"), "kill_switch_file", "''"),
    (
        "metrics export outside the home",
        _sample_with(metrics_export_path="/var/tmp/m.json"),
        "metrics_export_path",
        "/var/tmp/m.json",
    ),
    (
        "journal and state the same file",
        _sample_with(journal_file="data/funding_arb_state.json"),
        "journal_file",
        "data/funding_arb_state.json",
    ),
    ("error window too long", _sample_with(error_window_s="10000000"), "error_window_s", "10000000"),
    ("error window too short", _sample_with(error_window_s="1"), "error_window_s", "1"),
    ("error limit off", _sample_with(max_errors_per_window="100000"), "max_errors_per_window", "100000"),
    ("stale data never stale", _sample_with(stale_data_s="86400"), "stale_data_s", "86400"),
    (
        "liquidation distance above 90 %",
        _sample_with(min_liquidation_distance_pct="95"),
        "min_liquidation_distance_pct",
        "95",
    ),
    ("daily loss of 0", _sample_with(max_daily_loss_pct="0"), "max_daily_loss_pct", "0"),
    ("daily loss above half", _sample_with(max_daily_loss_pct="80"), "max_daily_loss_pct", "80"),
    ("negative daily loss", _sample_with(max_daily_loss_pct="-3"), "max_daily_loss_pct", "-3"),
    ("holding ten years", _sample_with(max_holding_hours="87600"), "max_holding_hours", "87600"),
    ("take profit above 100 %", _sample_with(take_profit_pct="500"), "take_profit_pct", "500"),
    ("exit basis absurd", _sample_with(exit_basis_pct="70"), "exit_basis_pct", "70"),
    ("a single quote peg", _sample_with(quote_pegs="[USDT]"), "quote_pegs", "USDT"),
    (
        "persistence of a million ticks",
        _sample_with(persistence_observations="1000000"),
        "persistence_observations",
        "1000000",
    ),
    ("entry cooldown of years", _sample_with(entry_cooldown_s="100000000"), "entry_cooldown_s", "100000000"),
    ("close retry backoff of a day", _sample_with(close_retry_backoff_s="86400"), "close_retry_backoff_s", "86400"),
    (
        "metrics export once a day",
        _sample_with(metrics_export_interval_s="86400"),
        "metrics_export_interval_s",
        "86400",
    ),
]


@pytest.mark.parametrize("label,text,field,value", STRICT, ids=[m[0] for m in STRICT])
def test_strict_config_refuses_naming_field_and_value(tmp_path, capsys, label, text, field, value):
    path = tmp_path / "conf.yml"
    path.write_text(text)

    rc = main(["check-config", str(path)])

    err = capsys.readouterr().err
    assert rc == 2
    named = [line for line in err.splitlines() if field in line and value in line]
    assert named, err


def test_every_strict_problem_is_listed_in_one_run(tmp_path, capsys):
    """All the malformed values at once: one run lists each of them (exit 2), not just the first kind."""
    values = {
        "single_leg_timeout_s": "999999999",
        "quote_assets": "{binance_perpetual: USDT, bybit_perpetual: USDC}",
        "state_file": "/etc/passwd",
        "persistence_observations": "true",
        "error_window_s": "10000000",
        "max_errors_per_window": "100000",
        "stale_data_s": "86400",
        "min_liquidation_distance_pct": "95",
        "max_daily_loss_pct": "80",
        "max_holding_hours": "87600",
        "take_profit_pct": "500",
        "exit_basis_pct": "70",
        "journal_file": "/tmp/j.sqlite",
        "kill_switch_file": "/tmp/kill",
        "metrics_export_path": "/var/tmp/m.json",
        "metrics_export_interval_s": "86400",
        "exit_confirmations": "5000",
        "max_drawdown_quote": "yes",
        "holding_horizon_hours": "100000",
        "tokens": "[btc]",
        "order_amount": "5",
    }
    text = _sample_with(**values) + "max_drawdown_quote: 9999\n"
    path = tmp_path / "conf.yml"
    path.write_text(text)

    rc = main(["check-config", str(path)])

    err = capsys.readouterr().err
    assert rc == 2
    for field in [*values, "max_drawdown_quote"]:
        assert any(field in line for line in err.splitlines()[1:]), (field, err)
    assert sum(1 for line in err.splitlines() if line.startswith("  - ")) >= len(values)


def test_cross_field_problems_are_listed_alongside_field_errors(tmp_path, capsys):
    data = _with(
        order_amount_quote=5000, tokens=["btc"], quote_assets={"binance_perpetual": "USDT", "bybit_perpetual": "USDC"}
    )
    assert main(["check-config", str(_write(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    for field in ("order_amount_quote", "tokens", "quote_assets"):
        assert field in err, err


def test_declared_quote_peg_accepts_a_usdt_usdc_pair(tmp_path, capsys):
    data = _with(
        quote_assets={"binance_perpetual": "USDT", "bybit_perpetual": "USDC", "binance": "USDT"},
        quote_pegs=["USDT", "USDC"],
    )
    assert main(["check-config", str(_write(tmp_path, data))]) == 0, capsys.readouterr().err


def test_run_refuses_a_duplicate_key_with_exit_2(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / "conf" / "scripts").mkdir(parents=True)
    (home / "conf" / "scripts" / "dup.yml").write_text(SAMPLE_TEXT + "max_drawdown_quote: 9999\n")
    monkeypatch.setenv("FUNDING_ARB_HOME", str(home))
    from strategies.funding_arbitrage.cli.launcher import build_parser, cmd_run

    args = build_parser().parse_args(["run", "--conf", "dup.yml"])
    monkeypatch.setattr("strategies.funding_arbitrage.shell.home.use_project_home", lambda root=None: home)
    assert cmd_run(args) == 2
    assert "max_drawdown_quote" in capsys.readouterr().err
