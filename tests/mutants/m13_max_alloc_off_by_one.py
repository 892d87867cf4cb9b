"""m13: off-by-one at the size limit: size >= 3968 is ENOSPC, so the largest allocation is
refused.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          'if size > self._max_alloc:',
          'if size >= self._max_alloc:'),
)
