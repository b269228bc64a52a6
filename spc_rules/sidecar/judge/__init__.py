"""Judging points: limits per series, rule flags judged once, the ledger of what was judged."""
