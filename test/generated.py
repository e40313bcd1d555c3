"""Missions generated from the shipped behaviours, for property tests (hypothesis strategies).
Each strategy gives the YAML flow text of a tree: value."""
from hypothesis import strategies as st

POSES = [{"x": 0.5, "y": 0.0}, {"x": 0.0, "y": 0.5}, {"x": 0.0, "y": 0.0}, {"x": 99.0, "y": 0.0}]  # last: rejected


def leaves():
    pose = st.sampled_from(POSES).map(lambda p: "{x: %s, y: %s}" % (p["x"], p["y"]))
    navigate = pose.map(lambda p: "{navigate: {pose: %s}}" % p)
    return st.one_of(     # remote leaves weighted up: they are what faults act on
        navigate, navigate, navigate,
        st.sampled_from(["home", "stow", "inspect"]).map(lambda p: "{move_arm: {pose: %s}}" % p),
        st.sampled_from(["home", "stow", "inspect"]).map(lambda p: "{move_arm: {pose: %s}}" % p),
        st.just("{health_check: {timeout: 1.0}}"),
        st.just("{calibrate: {timeout: 2.0}}"),
        st.sampled_from([0.01, 0.05]).map(lambda s: "{wait: {seconds: %s}}" % s),
        st.just("{log: {message: hello}}"),
    )


def composites(children):
    listed = st.lists(children, min_size=1, max_size=3).map(", ".join)
    return st.one_of(
        listed.map(lambda c: "{sequence: {children: [%s]}}" % c),
        listed.map(lambda c: "{fallback: {children: [%s]}}" % c),
        st.tuples(st.sampled_from(["all", "one"]), listed).map(
            lambda pc: "{parallel: {policy: %s, children: [%s]}}" % pc),
        st.tuples(st.integers(1, 3), children).map(
            lambda ac: "{retry: {attempts: %d, backoff: {initial: 0.02}, child: %s}}" % ac),
        st.tuples(st.sampled_from([0.3, 5.0]), children).map(lambda sc: "{timeout: {seconds: %s, child: %s}}" % sc),
        children.map(lambda c: "{force_success: {child: %s}}" % c),
    )


def trees():
    """A composite at the top, with two to four subtrees of up to four leaves each. (``invert`` is
    left out: it turned most missions into an early failure before any fault could act.)"""
    subtree = st.recursive(leaves(), composites, max_leaves=4)
    return st.tuples(st.sampled_from(["sequence", "fallback", "parallel"]), st.lists(subtree, min_size=2, max_size=4)
                     ).map(lambda kc: "{%s: {children: [%s]}}" % (kc[0], ", ".join(kc[1])))
