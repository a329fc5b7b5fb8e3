"""Analytics: facts written with the state changes that produce them, daily aggregates kept
exact under retries, the summary and CSV read from them, and the operators' dashboard."""
