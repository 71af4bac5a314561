"""Benchmarks for opstrack: `python -m bench` runs them and prints one table of figures.

They measure and print; they never assert on timing (tests assert on correctness).
"""
