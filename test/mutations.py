"""Hypothesis strategies that damage mission text the way typing does: a slice cut, a character
put in, a line duplicated. Shared by the language fuzz tests and the executive's reliability suite."""
from hypothesis import strategies as st

CHARS = st.sampled_from(list(":{}[]-#&*!|>'\"%@`,?= \n\t()") + ["${", "${x}", "\u00e9", "\ufeff", " and ", "."])


@st.composite
def edited(draw, texts, chars=CHARS):
    """(index into ``texts``, that text with one to three edits, inserting ``chars``)."""
    index = draw(st.integers(0, len(texts) - 1))
    text = texts[index]
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["cut", "insert", "duplicate"]))
        if how == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif how == "insert":
            text = text[:at] + draw(chars) + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            i = min(len(lines) - 1, at % max(1, len(lines)))
            text = "".join(lines[:i + 1] + lines[i:])
    return index, text
