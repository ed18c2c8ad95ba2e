"""The ``omniout`` command line."""
