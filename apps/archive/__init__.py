"""The archive: Patient/Study/Series/Instance index, storage backends and the ingest pipeline."""
