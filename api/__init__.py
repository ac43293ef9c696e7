"""The application: the evidence store, the service, the HTTP API and the ``ballistics`` command.

Layers, each importing only those before it: ``api.store`` (database, original files, stored
marks), ``api.service`` (ingest -> correlate -> link, search, jobs, the worker pool), ``api.web``
(FastAPI routes over the service) and the command line (``api.cli``). ``ballistics`` (the image
science) is open to every layer, ``indexer`` to the service; ``api.store`` never imports
``api.service`` or ``api.web``, and ``api.service`` never imports ``api.web``
(``tests/test_structure.py`` checks it). The README's "How it fits together" draws it.
"""
