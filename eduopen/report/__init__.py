"""The HTML report of the published warehouse, its charts and templates."""
