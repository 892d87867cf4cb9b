"""m12: reclaim returns 0 on a partial eviction (FIRST evicted, LAST failed) instead of trying the
next page.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'reclaim_page',
          '            if released:\n                return 0',
          '            if released or (first is not None and ret != 0 and first not in self._index):\n                lock.acquire()\n                lock.release()\n                return 0'),  # noqa: E501
)
