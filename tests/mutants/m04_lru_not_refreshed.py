"""m04: LRU not refreshed: an allocation into an existing page leaves its LRU position.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          'self._lru.move_to_end(page)\n',
          '\n'),
)
