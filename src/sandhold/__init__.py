"""Sandhold: a self-hosted sandbox server speaking the OpenSandbox APIs.

The public surface is small: the console script (``sandhold.cli``), the
configuration model (``sandhold.config``) and the error tree
(``sandhold.errors``). Everything else is machinery behind them.
"""

__version__ = "0.1.0"
