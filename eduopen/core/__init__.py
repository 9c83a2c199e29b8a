"""What every layer shares: typed configuration, the home's paths, the writer lock, errors, files."""
