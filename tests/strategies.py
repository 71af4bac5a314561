"""Hypothesis strategies the property tests share."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
# Any JSON value, nested a little: what a sender might put where we expect something else.
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

# What the event contract lets into a string, by Unicode category rather than by the
# contract's own pattern: ids and labels hold no control character (Cc: C0, DEL, C1)
# and no lone surrogate (Cs); free text may also hold tab, line feed and return.
names = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=200)
free_texts = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\t\n\r"), max_size=300
)
