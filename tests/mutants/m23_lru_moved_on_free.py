"""m23: a free that relists a buddied page also moves it to the LRU head.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', '_release_buddy',
          '            self._unbuddied[i][page] = None\n',
          '            self._unbuddied[i][page] = None\n            self._lru.move_to_end(page)\n'),
)
