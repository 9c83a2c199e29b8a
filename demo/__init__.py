"""Demo- and test-only code that never ships in the image: the replay server with its recorded
bundle of the real sites, the local Airflow mode, and `python -m demo` (what `make demo` runs)."""
