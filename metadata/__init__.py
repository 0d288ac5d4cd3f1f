"""ML Metadata: opening the store, the shared queries, the run summary and `inspect`."""
