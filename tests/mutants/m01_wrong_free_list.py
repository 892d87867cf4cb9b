"""m01: wrong free list: a buddied page whose buddy is freed is relisted by the freed buddy's
size, not the remaining one's.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', '_release_buddy',
          'i = self._nchunks - ((other_size + mask) >> shift) - 1',
          'i = self._nchunks - ((size + mask) >> shift) - 1'),
)
