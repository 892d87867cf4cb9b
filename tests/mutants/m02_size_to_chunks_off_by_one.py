"""m02: off-by-one in size_to_chunks: (size + CHUNK_SIZE) >> CHUNK_SHIFT, an exact multiple of 64
bytes takes one chunk too many.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          'chunks = (size + self._chunk_mask) >> self._chunk_shift',
          'chunks = (size + self._chunk_mask + 1) >> self._chunk_shift'),
)
