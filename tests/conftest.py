"""Shared fixtures. Network tests follow the rules stated in ``tests/netutil.py``."""
