"""The pricing rules, one module per rule family, each vectorised over a table of claim lines.

The engine (estimator.engine) calls them in order: Medicare fees per line (medicare), claim edits
(edits), multiple-procedure ranking (multiple_procedures), the payer's contract (contracts), then
the patient's and payer's shares (cost_sharing). Each function's docstring cites its source.
"""
