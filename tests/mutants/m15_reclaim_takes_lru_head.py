"""m15: reclaim takes the LRU head (the newest page) instead of the tail.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'reclaim_page',
          'page = next(iter(lru))',
          'page = next(reversed(lru))'),
)
