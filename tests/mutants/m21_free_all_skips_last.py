"""m21: invalidate_area misses the highest offset (the radix walk stops one entry short).
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'free_all',
          'offsets = sorted(index)',
          'offsets = sorted(index)[:-1]'),
)
