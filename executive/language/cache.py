"""Resolved missions kept by content, for a long-lived executive that is sent the same missions
again and again (ExecuteMission goals): loading, checking and resolving a mission is then paid
once, and each run still gets a tree of its own, compiled from the kept model.

An entry is found by its key (the goal's text or the mission file's path, the missions directory
and the overrides) and used only while every file the mission was read from still holds the text
it had (includes too), so an edited file is read again. Invalid missions are not kept. Models are
plain data that compiling and running only read; a py_trees tree is never kept.
"""
import collections
import pathlib
import threading

SIZE = 32       # missions kept; the least recently used goes first


class MissionCache:
    def __init__(self, size: int = SIZE):
        self.size = size
        self.hits = 0
        self.misses = 0
        self._models = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, resolve):
        """The kept model for ``key`` if its files are unchanged, else ``resolve()``'s (kept).
        MissionInvalid from ``resolve`` goes through and nothing is kept. Safe to call from two
        threads (the executor's, and the one that loads goals): ``resolve`` runs unlocked."""
        with self._lock:
            model = self._models.get(key)
        if model is not None and unchanged(model.sources):
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                self.hits += 1
            return model
        with self._lock:
            self.misses += 1
        model = resolve()
        with self._lock:
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model

    def __len__(self):
        return len(self._models)


def unchanged(sources: dict) -> bool:
    """Every file still holds the text it was read with."""
    for path, text in sources.items():
        try:
            if pathlib.Path(path).read_text(encoding="utf-8") != text:
                return False
        except (OSError, UnicodeDecodeError):
            return False
    return True
