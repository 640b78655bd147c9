"""Walk-forward tuning of the strategy's settings (`funding-arb sweep`).

folds.py (windows, checked against the data), space.py (which settings are searched), objective.py (carry capture
and its penalties), trial.py (one replay, run on a Ray worker), study.py (Optuna studies in SQLite, ask/tell on Ray),
outputs.py (chosen config, per-fold tables), sweep.py (the whole run), progress.py (bar with ETA).
"""
