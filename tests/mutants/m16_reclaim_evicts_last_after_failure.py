"""m16: reclaim evicts LAST even when evicting FIRST failed.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'reclaim_page',
          'if ret == 0 and last is not None:',
          'if last is not None:'),
)
