"""m09: index entry left after free: the real free forgets to delete the offset from the index.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', '_release_buddy',
          'del self._index[offset]\n',
          '\n'),
)
