"""m11: evict called with the pool lock held (the lock is lockdep-checked, so the writeback's map
reports a self-deadlock instead of hanging).
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'reclaim_page',
          '            last = page.last_offset\n            lock.release()',
          '            last = page.last_offset'),
    checked_lock=True,
)
