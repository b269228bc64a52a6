"""What probing costs: the price table and the daily budget guard."""
