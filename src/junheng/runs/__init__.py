"""Whole-region runs: every county and year of a workspace store or a dataset evaluated in
chunks, written as Parquet, resumable after a kill (`junheng evaluate --all`)."""
