"""The routing brain, one pure module per stage: screen, match, decide (with its strategies).

Nothing here imports the database, the web framework or the CLI.
"""
