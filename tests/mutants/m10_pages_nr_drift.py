"""m10: pages_nr drift: an emptied page leaves the pool without pages_nr going down.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', '_release_buddy',
          'self._pages_nr -= 1',
          'pass'),
)
