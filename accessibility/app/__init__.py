"""``accessibility app``: the planner's workbench, a local web app over an analysis.

:mod:`.workbench` holds the baseline in memory and answers each change in milliseconds;
:mod:`.server` serves the page and the HTTP API (FastAPI); ``static/`` is the page.
"""
