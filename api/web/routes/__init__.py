"""One router per resource (FastAPI's layout): exhibits, search, links, cases, compare, audit."""
