"""m24: a fresh page goes to the LRU tail instead of its head, so reclaim takes the newest page.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          '            self._lru[page] = None\n',
          '            self._lru[page] = None\n            self._lru.move_to_end(page, last=False)\n'),  # noqa: E501
)
