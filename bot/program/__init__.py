"""The workshop program: its model, its file format, importers and the loader into the database."""
