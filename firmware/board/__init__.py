"""Board layer: the only firmware code that touches ``machine`` and ``network``."""
