"""Record linkage: the same victim or accident in a revised release or in several sources
(issue 17). Splink on DuckDB compares; this package normalises, blocks, scores and clusters."""
