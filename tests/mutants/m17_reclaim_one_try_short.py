"""m17: reclaim gives up one try early (retries - 1 tries).
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'reclaim_page',
          'for _ in range(retries):',
          'for _ in range(retries - 1):'),
)
