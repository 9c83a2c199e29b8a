"""What the Airflow DAG files import: Assets, pools, task defaults, the watchers and their
triggers, and the Cosmos task group. DAG files stay thin; the logic is here and below."""
