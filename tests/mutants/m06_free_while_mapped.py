"""m06: free while mapped: zbud_free releases the buddy at once, whatever its map count.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', '_free_locked',
          'if remaining > 0:',
          'if False:'),
)
