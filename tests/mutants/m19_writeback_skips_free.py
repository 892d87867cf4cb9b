"""m19: writeback writes the page out but does not free the offset (W6 missing) and still reports
success.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('Zswap', '_writeback',
          'return self._forget(pool, offset)',
          'return 0'),
)
