"""The ``chainrule`` command line: each subcommand lives in its own module here."""
